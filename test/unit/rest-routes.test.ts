import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { buildArgs } from '../../src/http/args.js';
import { locationOf, matchRoute, type Route, routes } from '../../src/http/routes.js';

const route = (method: string, path: string) => {
  const m = matchRoute(method, path);
  if (m?.kind !== 'route') throw new Error(`${method} ${path}: ${JSON.stringify(m)}`);
  return m;
};
const byTool = (name: string): Route => routes.find((r) => r.tool.name === name)!;

describe('REST routes generated from the catalogue', () => {
  it('maps each path to its tool and path parameters to tool fields', () => {
    expect(route('DELETE', '/daemons/r1')).toMatchObject({ route: { tool: { name: 'daemon_delete' } }, values: { name: 'r1' } });
    const tun = route('GET', '/tunnels/r1/t12/state');
    expect(tun.route.tool.name).toBe('tunnel_state');
    expect(tun.route.params).toEqual([
      { param: 'container', field: 'container' },
      { param: 'tunnel', field: 'name' },
    ]);
    expect(route('DELETE', '/topologies/lab1').route.params).toEqual([{ param: 'id', field: 'name' }]);
    expect(route('POST', '/topology/standup').route.tool.name).toBe('topology_standup');
    expect(route('GET', '/daemons/').route.tool.name).toBe('daemon_list');
  });

  it('prefers a literal segment per method, and a parameter when only it has that method', () => {
    expect(route('POST', '/networks/connect').route.tool.name).toBe('network_connect');
    // a network may be named "connect": GET and DELETE reach it
    expect(route('GET', '/networks/connect')).toMatchObject({ route: { tool: { name: 'network_get' } }, values: { name: 'connect' } });
    expect(route('DELETE', '/networks/connect').route.tool.name).toBe('network_delete');
  });

  it('answers which methods a known path allows, and nothing for an unknown path', () => {
    expect(matchRoute('PUT', '/daemons')).toEqual({ kind: 'method', allow: ['GET', 'POST'] });
    expect(matchRoute('GET', '/daemons/r1/start')).toEqual({ kind: 'method', allow: ['POST'] });
    expect(matchRoute('GET', '/nothing')).toBeUndefined();
    expect(matchRoute('GET', '/daemons/r1/start/now')).toBeUndefined();
  });

  it('decodes path parameters and refuses broken percent-encoding', () => {
    expect(route('GET', '/daemons/r%31').values).toEqual({ name: 'r1' });
    expect(matchRoute('GET', '/daemons/%E0%A4%A')).toMatchObject({ kind: 'bad_path' });
  });

  it('gives a created object its address when there is a route to read it', () => {
    expect(locationOf(byTool('network_create'), { name: 'lan 1' })).toBe('/networks/lan%201');
    expect(locationOf(byTool('topology_create'), { name: 'lab' })).toBe('/topologies/lab');
    expect(locationOf(byTool('tunnel_create'), { name: 't1' })).toBeUndefined();
  });
});

describe('tool arguments from path, query and body', () => {
  it('coerces query values to the field types and keeps repeated values as a list', () => {
    const args = buildArgs(byTool('audit_list'), {}, new URLSearchParams('limit=5&ok=false&tool=network_create'), {});
    expect(args).toEqual({ limit: 5, ok: false, tool: 'network_create' });
    // a bare flag is true; a number that is not one stays text for the schema to refuse
    expect(buildArgs(byTool('topology_delete'), { id: 'lab' }, new URLSearchParams('force'), {})).toEqual({ name: 'lab', force: true });
    expect(buildArgs(byTool('audit_list'), {}, new URLSearchParams('limit=five&tool=a&tool=b'), {})).toEqual({
      limit: 'five',
      tool: ['a', 'b'],
    });
  });

  it('merges the body with the path, and refuses a field given twice with different values, naming it', () => {
    expect(buildArgs(byTool('host_exec'), { name: 'h1' }, new URLSearchParams(), { command: ['true'] })).toEqual({
      name: 'h1',
      command: ['true'],
    });
    expect(buildArgs(byTool('host_exec'), { name: 'h1' }, new URLSearchParams(), { name: 'h1', command: ['true'] })).toEqual({
      name: 'h1',
      command: ['true'],
    });
    let err: unknown;
    try {
      buildArgs(byTool('tunnel_fix'), { container: 'r1', tunnel: 't1' }, new URLSearchParams(), { name: 't2' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('INVALID_INPUT');
    expect((err as LabError).issues).toEqual([
      { path: 'name', message: expect.stringContaining('the path {tunnel} says "t1", the body "t2"') },
    ]);
  });
});
