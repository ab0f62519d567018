/**
 * tunnel_fix's repair of one end, in place: recreate an interface that is missing or whose
 * parameters differ, else set its MTU, address and state back. Never an interface the lab did not make.
 */
import { LabError } from '../errors.js';
import { compareLink, describeMismatch, type Mismatch } from './inspect.js';
import type { EndObservation, Tunnels } from './service.js';

export interface FixAction {
  container: string;
  action: string;
  ok: boolean;
  detail?: string;
}

export async function repairEnd(tunnels: Tunnels, o: EndObservation): Promise<FixAction[]> {
  const c = o.end.container;
  const e = o.end;
  if (!o.running || !o.info)
    return [
      {
        container: c,
        action: 'none',
        ok: false,
        detail: `${c} is not running; start it (daemon_start / host_start) and its tunnels come back`,
      },
    ];
  const info = o.info;
  if (o.link && !o.link.ours)
    return [
      {
        container: c,
        action: 'refused',
        ok: false,
        detail: `the interface ${e.name} in ${c} was not created by netstream-lab; it was left alone`,
      },
    ];
  const mism: Mismatch[] = o.link ? compareLink(e, o.link) : [];
  if (!o.link || mism.some((m) => m.recreate)) {
    const why = o.link
      ? mism
          .filter((m) => m.recreate)
          .map(describeMismatch)
          .join('; ')
      : 'the interface was missing';
    try {
      await tunnels.bringUp(info, e, 'fix');
      return [{ container: c, action: 'recreate', ok: true, detail: `recreated ${e.name} (${why})` }];
    } catch (err) {
      return [{ container: c, action: 'recreate', ok: false, detail: err instanceof LabError ? err.message : String(err) }];
    }
  }
  const steps: Array<{ action: string; args: string[]; detail: string }> = [];
  if (mism.some((m) => m.field === 'mtu'))
    steps.push({ action: 'set_mtu', args: ['link', 'set', 'dev', e.name, 'mtu', String(e.mtu)], detail: `mtu ${e.mtu}` });
  if (!o.addresses.includes(e.address))
    steps.push({ action: 'restore_address', args: ['addr', 'replace', e.address, 'dev', e.name], detail: `address ${e.address}` });
  if (!o.link.up) steps.push({ action: 'set_up', args: ['link', 'set', 'dev', e.name, 'up'], detail: `${e.name} up` });
  const out: FixAction[] = [];
  for (const s of steps) {
    const r = await tunnels.execIn(info, c, { command: ['ip', ...s.args], timeoutS: 10 });
    out.push({
      container: c,
      action: s.action,
      ok: r.exit_code === 0,
      detail: r.exit_code === 0 ? s.detail : (r.stderr || r.stdout).trim(),
    });
  }
  return out;
}
