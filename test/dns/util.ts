export { encodeDnstap } from '../../src/dns/dnstap-decode.ts';
export const CLIENT_QUERY = 5;
