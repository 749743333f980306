{
  # The batched UDP receiver of the receiving threads (src/ingest/native-udp.ts). recvmmsg and
  # SO_RXQ_OVFL are Linux's: elsewhere nothing is built and the collector uses Node's dgram.
  "targets": [
    {
      "target_name": "udp_recv",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["udp_recv.c"],
          "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
          "defines": ["NAPI_VERSION=8"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
