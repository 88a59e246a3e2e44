import type { Application } from 'express';

type Layer = { route?: { path?: string } };

/**
 * Moves the layer registered last to just before the route with the given path.
 * matrix-appservice registers its routes in its constructor, before we can add anything,
 * and Express matches in registration order; Express 4 keeps its layers in
 * `_router.stack`, so reordering there is the least invasive way to act first (the
 * alternative is overriding private methods of AppService).
 */
export function moveLastLayerBefore(app: Application, routePath: string): void {
  const router = (app as unknown as { _router?: { stack: Layer[] } })._router;
  if (!router) throw new Error('express internals changed: no _router');
  const ours = router.stack.pop()!;
  const target = router.stack.findIndex((l) => l.route?.path === routePath);
  router.stack.splice(target === -1 ? router.stack.length : target, 0, ours);
}
