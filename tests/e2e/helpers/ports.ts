// One implementation, in src/; test files reach it through ts-jest.
export { freePort } from '../../../src/net/freePort.js';
