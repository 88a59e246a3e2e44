// fake-indexeddb/auto only installs the IndexedDB globals; it exports nothing.
declare module 'fake-indexeddb/auto';
