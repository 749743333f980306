/*
 * Batched UDP receive for the receiving threads: one socket, recvmmsg(2) into a buffer shared with
 * JavaScript, one JS call per batch. Node's dgram path pays for a 64 KiB allocation, an rinfo
 * object with an address string and an EventEmitter emit per datagram; here a datagram costs a
 * slot in a preallocated buffer and a few words of metadata.
 *
 * Node-API only (no V8 or libuv ABI beyond uv_poll, which Node-API exposes the loop for), so one
 * build loads in every Node version with Node-API 8.
 *
 * JS API:
 *   open(host, port, { recvBuffer, reusePort, slots, slotSize, maxBatches, spread, stop }, onBatch) -> handle
 *     stop            optional Int32Array (shared with the main thread): while its word 0 is non-zero
 *                     no more batches are read, and a callback that fails then (the thread being
 *                     terminated) is not raised as an uncaught exception
 *     spread          0 (default; 1 too) leaves a SO_REUSEPORT group to the kernel's 4-tuple hash,
 *                     which keeps an exporter on one socket; N (2..1024) with reusePort picks one of
 *                     the group's first N sockets at random for each datagram, so a few exporters
 *                     still load every socket. The program belongs to the group, so every socket
 *                     of it should be opened with the same N, the group's size: with fewer
 *                     sockets the kernel's hash takes the indexes past them, all to one socket.
 *     handle.buffer   ArrayBuffer of slots x slotSize bytes, datagram i at i * slotSize
 *     handle.meta     ArrayBuffer of slots x META_WORDS uint32: length, family (4/6), port,
 *                     truncated (1 when the datagram was longer than its slot), IPv4 address
 *                     (host order) or the 16 bytes of an IPv6 address in words 4..7
 *     handle.port, handle.family, handle.address, handle.recvBufferBytes
 *     handle.close()  stop and close (idempotent)
 *     handle.stats()  { kernelDrops, truncated, batches, wakeups }
 *   onBatch(count) is called with the datagrams in slots 0..count-1; they are overwritten once it
 *   returns.
 *   trim() -> boolean
 *                     hands the pages malloc keeps free back to the system (glibc's malloc_trim, every
 *                     arena); true when some were. V8 compiles in malloc'd zones: after a thread's
 *                     warm-up and the start-up, several MiB of freed zones stay resident until then.
 *                     false, and nothing done, where the C library has no malloc_trim.
 *   trimAsync() -> Promise<void>
 *                     the same on libuv's pool, for a thread that must not wait on the arenas' locks
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <node_api.h>
#include <uv.h>

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

#define META_WORDS 8
#define MAX_SLOTS 1024
/* Far more receiving threads than any host runs; the kernel caps a reuseport group at 65535. */
#define MAX_SPREAD 1024

typedef struct {
  napi_env env;
  int fd;
  int closed;
  int hook; /* env cleanup hook registered */
  uv_poll_t *poll;
  napi_ref self;     /* strong while open: an open socket keeps its handle alive */
  napi_ref callback; /* strong while open */
  napi_ref buffer_ref;
  napi_ref meta_ref;
  napi_ref stop_ref; /* keeps the stop flag's array alive while `stop` points into it */
  volatile int32_t *stop;
  napi_async_context async;
  uint8_t *buffer;
  uint32_t *meta;
  uint32_t slots;
  uint32_t slot_size;
  uint32_t max_batches;
  struct mmsghdr *msgs;
  struct iovec *iovs;
  struct sockaddr_in6 *addrs; /* large enough for sockaddr_in too */
  char *ctrl;
  size_t ctrl_size;
  uint32_t kernel_drops;
  double truncated;
  double batches;
  double wakeups;
} Receiver;

#define CHECK(call)                                                         \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      const napi_extended_error_info *info_ = NULL;                         \
      napi_get_last_error_info(env, &info_);                                \
      bool pending_ = false;                                                \
      napi_is_exception_pending(env, &pending_);                            \
      if (!pending_) napi_throw_error(env, NULL, info_ && info_->error_message ? info_->error_message : #call " failed"); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/* An Error whose message names the call, the address and the errno (text and code), and whose
 * `code` is the errno's name, as Node's own socket errors have. */
static void throw_errno_text(napi_env env, const char *what, const char *host, int port, int err, const char *text) {
  char msg[256];
  const char *name = uv_err_name(-err);
  snprintf(msg, sizeof msg, "%s %s:%d: %s (%s)", what, host, port, text, name);
  napi_value code, message, error;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  napi_value no;
  napi_create_int32(env, err, &no);
  napi_set_named_property(env, error, "errno", no);
  napi_throw(env, error);
}

static void throw_errno(napi_env env, const char *what, const char *host, int port, int err) {
  throw_errno_text(env, what, host, port, err, strerror(err));
}

static void free_poll(uv_handle_t *h) { free(h); }

/* Stops receiving and closes the socket; touches no JavaScript, so the env cleanup hook and the
 * finalizer can call it too. `teardown`: the thread's environment is going away (a worker that
 * exits or is terminated without close()); its loop then finishes closing handles after this
 * addon is unloaded, so the poll handle gets no close callback (one that pointed into the
 * unloaded library crashed the process with SIGSEGV) and its few bytes are left to the OS. */
static void shutdown_socket(Receiver *r, int teardown) {
  if (r->closed) return;
  r->closed = 1;
  if (r->poll != NULL) {
    uv_poll_stop(r->poll);
    uv_close((uv_handle_t *)r->poll, teardown ? NULL : free_poll);
    r->poll = NULL;
  }
  if (r->fd >= 0) {
    close(r->fd);
    r->fd = -1;
  }
}

static void env_cleanup(void *arg) {
  Receiver *r = arg;
  r->hook = 0;
  shutdown_socket(r, 1);
}

static void release_refs(Receiver *r) {
  napi_env env = r->env;
  if (r->callback) { napi_delete_reference(env, r->callback); r->callback = NULL; }
  if (r->self) { napi_delete_reference(env, r->self); r->self = NULL; }
  if (r->buffer_ref) { napi_delete_reference(env, r->buffer_ref); r->buffer_ref = NULL; }
  if (r->meta_ref) { napi_delete_reference(env, r->meta_ref); r->meta_ref = NULL; }
  if (r->stop_ref) { napi_delete_reference(env, r->stop_ref); r->stop_ref = NULL; }
  r->stop = NULL;
  if (r->async) { napi_async_destroy(env, r->async); r->async = NULL; }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Receiver *r = data;
  if (r->hook) napi_remove_env_cleanup_hook(r->env, env_cleanup, r);
  r->hook = 0;
  shutdown_socket(r, 1);
  free(r->msgs);
  free(r->iovs);
  free(r->addrs);
  free(r->ctrl);
  free(r);
}

/* Fills the metadata words of slot i from what recvmmsg left in its header. */
static void record_meta(Receiver *r, uint32_t i) {
  struct mmsghdr *m = &r->msgs[i];
  uint32_t *w = r->meta + (size_t)i * META_WORDS;
  w[0] = m->msg_len;
  w[3] = (m->msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
  if (w[3]) r->truncated++;
  const struct sockaddr *sa = (const struct sockaddr *)&r->addrs[i];
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    w[1] = 4;
    w[2] = ntohs(a->sin_port);
    w[4] = ntohl(a->sin_addr.s_addr);
  } else {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    w[2] = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      /* A dual-stack socket sees IPv4 exporters as ::ffff:a.b.c.d: one exporter, one name. */
      uint32_t v4;
      memcpy(&v4, &a->sin6_addr.s6_addr[12], 4);
      w[1] = 4;
      w[4] = ntohl(v4);
    } else {
      w[1] = 6;
      memcpy(&w[4], a->sin6_addr.s6_addr, 16);
    }
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m->msg_hdr); c != NULL; c = CMSG_NXTHDR(&m->msg_hdr, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&r->kernel_drops, CMSG_DATA(c), sizeof(uint32_t));
  }
}

/* recvmmsg resets nothing it does not write: lengths and control sizes must be set again. */
static void arm(Receiver *r) {
  for (uint32_t i = 0; i < r->slots; i++) {
    struct msghdr *h = &r->msgs[i].msg_hdr;
    h->msg_name = &r->addrs[i];
    h->msg_namelen = sizeof(struct sockaddr_in6);
    h->msg_iov = &r->iovs[i];
    h->msg_iovlen = 1;
    h->msg_control = r->ctrl + (size_t)i * r->ctrl_size;
    h->msg_controllen = r->ctrl_size;
    h->msg_flags = 0;
    r->msgs[i].msg_len = 0;
  }
}

static int stop_requested(const Receiver *r) {
  return r->stop != NULL && __atomic_load_n(r->stop, __ATOMIC_ACQUIRE) != 0;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Receiver *r = handle->data;
  if (r->closed || status < 0) return;
  napi_env env = r->env;
  r->wakeups++;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv;
  napi_get_reference_value(env, r->callback, &cb);
  napi_get_reference_value(env, r->self, &recv);
  /* Drain until the queue is empty, but give the loop back after max_batches so timers and
   * messages on this thread still run while exporters keep the socket busy (the poll is
   * level-triggered: what is left wakes us again on the next turn). */
  for (uint32_t b = 0; b < r->max_batches && !r->closed && !stop_requested(r); b++) {
    arm(r);
    int n = recvmmsg(r->fd, r->msgs, r->slots, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n <= 0) break; /* EAGAIN, or an error a datagram socket reports once (ICMP): try again later */
    for (int i = 0; i < n; i++) record_meta(r, (uint32_t)i);
    r->batches++;
    napi_value arg, result;
    napi_create_uint32(env, (uint32_t)n, &arg);
    napi_status s = napi_make_callback(env, r->async, recv, cb, 1, &arg, &result);
    if (s != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        /* Nobody up the stack can catch it: make it an uncaught exception of this thread, unless
         * the thread is being stopped (terminate() unwinds through here; raising then would act
         * on an environment that is going away). */
        if (!stop_requested(r)) napi_fatal_exception(env, err);
      }
      break;
    }
    if ((uint32_t)n < r->slots) break; /* the queue is empty: no need to ask again */
  }
  napi_close_handle_scope(env, scope);
}

static Receiver *unwrap_this(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  /* By `this`, not by the function's data: a method kept apart from its handle must not reach a
   * receiver that was already finalized. */
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a UDP receiver handle");
    return NULL;
  }
  return data;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  Receiver *r = unwrap_this(env, info);
  if (r == NULL) return NULL;
  if (r->hook) {
    napi_remove_env_cleanup_hook(env, env_cleanup, r);
    r->hook = 0;
  }
  shutdown_socket(r, 0);
  /* The handle object may be collected now; the buffers live as long as JS holds them. */
  release_refs(r);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  Receiver *r = unwrap_this(env, info);
  if (r == NULL) return NULL;
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_uint32(env, r->kernel_drops, &v));
  CHECK(napi_set_named_property(env, out, "kernelDrops", v));
  CHECK(napi_create_double(env, r->truncated, &v));
  CHECK(napi_set_named_property(env, out, "truncated", v));
  CHECK(napi_create_double(env, r->batches, &v));
  CHECK(napi_set_named_property(env, out, "batches", v));
  CHECK(napi_create_double(env, r->wakeups, &v));
  CHECK(napi_set_named_property(env, out, "wakeups", v));
  return out;
}

static int get_uint_option(napi_env env, napi_value opts, const char *name, uint32_t def, uint32_t *out) {
  bool has = false;
  *out = def;
  if (napi_has_named_property(env, opts, name, &has) != napi_ok) return 0;
  if (!has) return 1;
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_undefined) return 1;
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    *out = b ? 1 : 0;
    return 1;
  }
  if (t != napi_number) return 0;
  double d;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0 && d <= 4294967295.0)) return 0;
  *out = (uint32_t)d;
  return 1;
}

static napi_value set_prop_u32(napi_env env, napi_value obj, const char *name, uint32_t n) {
  napi_value v;
  CHECK(napi_create_uint32(env, n, &v));
  CHECK(napi_set_named_property(env, obj, name, v));
  return obj;
}

/* open(host, port, options, onBatch) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "open(host, port, options, onBatch)");
    return NULL;
  }
  char host[INET6_ADDRSTRLEN + 1];
  size_t host_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "host must be a string");
    return NULL;
  }
  uint32_t port = 0;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535) {
    napi_throw_range_error(env, NULL, "port must be an integer from 0 to 65535");
    return NULL;
  }
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[3], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, NULL, "onBatch must be a function");
    return NULL;
  }
  uint32_t recv_buffer, reuse_port, slots, slot_size, max_batches;
  if (!get_uint_option(env, argv[2], "recvBuffer", 0, &recv_buffer) || !get_uint_option(env, argv[2], "reusePort", 0, &reuse_port) ||
      !get_uint_option(env, argv[2], "slots", 64, &slots) || !get_uint_option(env, argv[2], "slotSize", 65535, &slot_size) ||
      !get_uint_option(env, argv[2], "maxBatches", 8, &max_batches)) {
    napi_throw_type_error(env, NULL, "options: recvBuffer, slots, slotSize and maxBatches are non-negative numbers, reusePort a boolean");
    return NULL;
  }
  if (slots < 1 || slots > MAX_SLOTS || slot_size < 1 || slot_size > 65535 || max_batches < 1) {
    napi_throw_range_error(env, NULL, "options: slots 1..1024, slotSize 1..65535, maxBatches >= 1");
    return NULL;
  }
  uint32_t spread;
  if (!get_uint_option(env, argv[2], "spread", 0, &spread)) {
    napi_throw_type_error(env, NULL, "options: spread is a non-negative number (0 or 1 off, 2..1024 sockets)");
    return NULL;
  }
  if (spread > MAX_SPREAD) {
    napi_throw_range_error(env, NULL, "options: spread 0..1024 (0 or 1 off, 2..1024 sockets)");
    return NULL;
  }

  volatile int32_t *stop_flag = NULL;
  napi_value stop_array = NULL;
  {
    bool has = false;
    if (napi_has_named_property(env, argv[2], "stop", &has) == napi_ok && has) {
      napi_value v;
      napi_valuetype vt = napi_undefined;
      bool is_ta = false;
      napi_typedarray_type ta_type;
      size_t ta_len = 0;
      void *ta_data = NULL;
      if (napi_get_named_property(env, argv[2], "stop", &v) != napi_ok || napi_typeof(env, v, &vt) != napi_ok) {
        napi_throw_type_error(env, NULL, "options: stop is an Int32Array");
        return NULL;
      }
      if (vt == napi_undefined) {
        /* no stop flag */
      } else if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
          napi_get_typedarray_info(env, v, &ta_type, &ta_len, &ta_data, NULL, NULL) != napi_ok || ta_type != napi_int32_array || ta_len < 1) {
        napi_throw_type_error(env, NULL, "options: stop is an Int32Array");
        return NULL;
      } else {
        stop_flag = ta_data;
        stop_array = v;
      }
    }
  }

  struct sockaddr_storage ss;
  socklen_t sslen;
  int family;
  memset(&ss, 0, sizeof ss);
  if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
    family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in6);
  } else {
    throw_errno_text(env, "bind", host, (int)port, EINVAL, "not an IPv4 or IPv6 address");
    return NULL;
  }

  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", host, (int)port, errno);
    return NULL;
  }
  int one = 1, zero = 0;
  const char *step = NULL;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) step = "setsockopt(IPV6_V6ONLY)";
  if (!step && reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) step = "setsockopt(SO_REUSEPORT)";
  if (!step && recv_buffer > 0) {
    int rb = recv_buffer > INT32_MAX ? INT32_MAX : (int)recv_buffer;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb) < 0) step = "setsockopt(SO_RCVBUF)";
  }
  /* Drop counts are a bonus: a kernel without SO_RXQ_OVFL still receives. */
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  if (!step && bind(fd, (struct sockaddr *)&ss, sslen) < 0) step = "bind";
  if (!step && spread >= 2 && reuse_port) {
    /* random % spread picks the socket of each datagram, not the 4-tuple hash: with few exporters
     * the hash leaves some threads idle and others overloaded. The program is the group's, so each
     * socket attaching it only replaces it with the same one; an index past the sockets bound so
     * far makes the kernel fall back to its hash, so a group still filling up loses nothing. */
    struct sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, spread},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0) step = "setsockopt(SO_ATTACH_REUSEPORT_CBPF)";
  }
  if (step) {
    int err = errno;
    close(fd);
    throw_errno(env, step, host, (int)port, err);
    return NULL;
  }
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  int granted = 0;
  socklen_t glen = sizeof granted;
  if (getsockname(fd, (struct sockaddr *)&local, &local_len) < 0 || getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "getsockname", host, (int)port, err);
    return NULL;
  }
  uint32_t bound_port = family == AF_INET ? ntohs(((struct sockaddr_in *)&local)->sin_port) : ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
  char bound_host[INET6_ADDRSTRLEN];
  inet_ntop(family, family == AF_INET ? (void *)&((struct sockaddr_in *)&local)->sin_addr : (void *)&((struct sockaddr_in6 *)&local)->sin6_addr, bound_host, sizeof bound_host);

  Receiver *r = calloc(1, sizeof *r);
  if (r == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  r->env = env;
  r->fd = fd;
  r->slots = slots;
  r->slot_size = slot_size;
  r->max_batches = max_batches;
  r->ctrl_size = CMSG_SPACE(sizeof(uint32_t));
  r->msgs = calloc(slots, sizeof *r->msgs);
  r->iovs = calloc(slots, sizeof *r->iovs);
  r->addrs = calloc(slots, sizeof *r->addrs);
  r->ctrl = calloc(slots, r->ctrl_size);

  napi_value self, buffer, meta, fn;
  void *buffer_data = NULL, *meta_data = NULL;
  int ok = r->msgs && r->iovs && r->addrs && r->ctrl &&
           napi_create_object(env, &self) == napi_ok &&
           napi_create_arraybuffer(env, (size_t)slots * slot_size, &buffer_data, &buffer) == napi_ok &&
           napi_create_arraybuffer(env, (size_t)slots * META_WORDS * sizeof(uint32_t), &meta_data, &meta) == napi_ok &&
           napi_wrap(env, self, r, finalize, NULL, NULL) == napi_ok;
  if (!ok) {
    /* Once wrapped, the finalizer owns r; before that, nothing else does. */
    close(fd);
    r->fd = -1;
    r->closed = 1;
    free(r->msgs); free(r->iovs); free(r->addrs); free(r->ctrl); free(r);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "cannot allocate the receive buffers");
    return NULL;
  }
  r->buffer = buffer_data;
  r->meta = meta_data;
  for (uint32_t i = 0; i < slots; i++) {
    r->iovs[i].iov_base = r->buffer + (size_t)i * slot_size;
    r->iovs[i].iov_len = slot_size;
  }

  napi_value name;
  CHECK(napi_create_string_utf8(env, "netflow-k8s:udp-recv", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->async));
  CHECK(napi_create_reference(env, self, 1, &r->self));
  CHECK(napi_create_reference(env, argv[3], 1, &r->callback));
  /* The handle owns its buffers; JS views of them outlive close() safely. */
  CHECK(napi_create_reference(env, buffer, 1, &r->buffer_ref));
  CHECK(napi_create_reference(env, meta, 1, &r->meta_ref));
  if (stop_array != NULL) {
    CHECK(napi_create_reference(env, stop_array, 1, &r->stop_ref));
    r->stop = stop_flag;
  }

  CHECK(napi_set_named_property(env, self, "buffer", buffer));
  CHECK(napi_set_named_property(env, self, "meta", meta));
  if (!set_prop_u32(env, self, "port", bound_port) || !set_prop_u32(env, self, "family", family == AF_INET ? 4 : 6) ||
      !set_prop_u32(env, self, "recvBufferBytes", (uint32_t)granted) || !set_prop_u32(env, self, "slots", slots) ||
      !set_prop_u32(env, self, "slotSize", slot_size) || !set_prop_u32(env, self, "metaWords", META_WORDS)) {
    return NULL;
  }
  napi_value addr;
  CHECK(napi_create_string_utf8(env, bound_host, NAPI_AUTO_LENGTH, &addr));
  CHECK(napi_set_named_property(env, self, "address", addr));
  CHECK(napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn));
  CHECK(napi_set_named_property(env, self, "close", fn));
  CHECK(napi_create_function(env, "stats", NAPI_AUTO_LENGTH, js_stats, NULL, &fn));
  CHECK(napi_set_named_property(env, self, "stats", fn));

  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, (struct uv_loop_s **)&loop));
  r->poll = malloc(sizeof(uv_poll_t));
  int rc = r->poll ? uv_poll_init(loop, r->poll, fd) : UV_ENOMEM;
  if (rc == 0) {
    r->poll->data = r;
    rc = uv_poll_start(r->poll, UV_READABLE, on_readable);
    if (rc != 0) {
      uv_close((uv_handle_t *)r->poll, free_poll);
      r->poll = NULL;
    }
  } else {
    free(r->poll);
    r->poll = NULL;
  }
  if (rc != 0) {
    shutdown_socket(r, 0);
    release_refs(r);
    throw_errno(env, "poll", host, (int)port, -rc);
    return NULL;
  }
  /* A worker thread that exits without close() must not leave its fd and poll handle behind
   * (a live handle at loop close aborts the thread's teardown). */
  CHECK(napi_add_env_cleanup_hook(env, env_cleanup, r));
  r->hook = 1;
  return self;
}

/* malloc_trim(0) where the C library has one; nonzero when pages went back. */
static int trim_now(void) {
#ifdef __GLIBC__
  return malloc_trim(0);
#else
  return 0;
#endif
}

static napi_value js_trim(napi_env env, napi_callback_info info) {
  napi_value out;
  if (napi_get_boolean(env, trim_now() != 0, &out) != napi_ok) return NULL;
  return out;
}

/*
 * trimAsync() -> Promise: glibc keeps freed heap memory in its arenas (one per thread that allocates),
 * so the pages of a freed scrape buffer or merge batch stay resident until malloc_trim(0) hands
 * the whole free pages back (MADV_DONTNEED). It runs on libuv's pool, not the calling thread: it
 * takes each arena's lock in turn, and a large arena can take milliseconds. Elsewhere than glibc
 * it does nothing.
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
} trim_job;

static void trim_execute(napi_env env, void *data) { trim_now(); }

static void trim_complete(napi_env env, napi_status status, void *data) {
  trim_job *job = data;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_resolve_deferred(env, job->deferred, undefined);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value js_trim_async(napi_env env, napi_callback_info info) {
  napi_value promise, name;
  trim_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  CHECK(napi_create_promise(env, &job->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "netflow-k8s:malloc_trim", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, trim_execute, trim_complete, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "open", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, js_trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "trimAsync", NAPI_AUTO_LENGTH, js_trim_async, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trimAsync", fn) != napi_ok) return NULL;
  return exports;
}
