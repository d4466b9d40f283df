// The library entry: what other Node programs may import from 'iron-runner'.
export { IronError, isIronError, type ErrorCode } from './errors.js';
