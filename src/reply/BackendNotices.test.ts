import { BackendNotices } from './BackendNotices.js';

test("a backend's notice is said once per room; a backend without one says nothing", () => {
  const notices = new BackendNotices((backend) => (backend === 'demo' ? 'I run on a demo model.' : null));
  expect(notices.claim('!a', 'demo')).toBe('I run on a demo model.');
  expect(notices.claim('!a', 'demo')).toBeNull();
  expect(notices.claim('!b', 'demo')).toBe('I run on a demo model.');
  expect(notices.claim('!a', 'cloud')).toBeNull();
});
