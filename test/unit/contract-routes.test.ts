import 'reflect-metadata';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { api } from '../../contract';
import { AppModule } from '../../src/app.module';
import { AUTH_REQUIREMENT, type AuthRequirement } from '../../src/auth/auth.decorators';

type Served = { route: string; status: number | undefined; auth: string };

const authName = (requirement: AuthRequirement | undefined): string =>
  requirement === undefined ? 'none' : requirement.kind === 'token' ? requirement.scope : requirement.kind;

/** Every handler Nest would serve: method and full path, success status and auth, from the decorators' metadata. */
function servedRoutes(): Served[] {
  const controllers = Reflect.getMetadata('controllers', AppModule) as (new (...args: never[]) => unknown)[];
  return controllers.flatMap((controller) => {
    const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, object>;
    return Object.getOwnPropertyNames(prototype)
      .filter((name) => name !== 'constructor' && Reflect.getMetadata(PATH_METADATA, prototype[name]) !== undefined)
      .map((name) => {
        const handler = prototype[name];
        const path = `/${[prefix, String(Reflect.getMetadata(PATH_METADATA, handler))].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
        return {
          route: `${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]} ${path}`,
          status: Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined,
          auth: authName((Reflect.getMetadata(AUTH_REQUIREMENT, handler) ?? Reflect.getMetadata(AUTH_REQUIREMENT, controller)) as AuthRequirement | undefined),
        };
      });
  });
}

// Clients build their requests from the contract; this proves the server serves exactly that table.
describe('the server serves the contract', () => {
  const served = servedRoutes();
  const declared = new Map(Object.values(api).flatMap((table) => Object.values(table)).map((route) => [`${route.method} ${route.path}`, route]));

  it('has one handler for each route of the contract, and no other', () => {
    expect(served.map((s) => s.route).sort()).toEqual([...declared.keys()].sort());
  });

  it('answers each route’s success status and guards it as the contract says', () => {
    for (const handler of served) {
      const route = declared.get(handler.route);
      expect({ route: handler.route, status: handler.status, auth: handler.auth }).toEqual({ route: handler.route, status: route?.status, auth: route?.auth });
    }
  });
});
