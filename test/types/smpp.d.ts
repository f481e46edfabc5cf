// The npm smpp package (a third-party peer in tests) ships no types.
declare module 'smpp';
