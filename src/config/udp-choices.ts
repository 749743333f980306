/**
 * The receive-path settings' values (--udp-backend, --udp-spread), declared here so config
 * parses them without importing the ingest layer above it. What each one does is said where it
 * is acted on: src/ingest/native-udp.ts and src/ingest/udp-spread.ts.
 */

/** The receive paths a receiving thread can take. */
export const UDP_BACKENDS = ['auto', 'native', 'dgram'] as const;
export type UdpBackendChoice = (typeof UDP_BACKENDS)[number];
export type UdpBackend = Exclude<UdpBackendChoice, 'auto'>;

/** How datagrams are dealt to the receiving threads. */
export const UDP_SPREADS = ['auto', 'exporter', 'datagram'] as const;
export type UdpSpread = (typeof UDP_SPREADS)[number];
