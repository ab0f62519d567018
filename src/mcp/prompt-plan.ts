import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { badArg, numbered, type PromptDef, user } from './prompt-kit.js';

/** A topology argument is YAML when it has more than a name could: a newline or a colon. */
const isYaml = (s: string) => /[\n:]/.test(s);

export const planAndApply: PromptDef = {
  prompt: {
    name: 'plan-and-apply-topology',
    title: 'Plan, then apply a topology',
    description:
      'Validate a topology, show what standing it up would change, ask before applying it, then check that every BGP session is Established.',
    arguments: [
      { name: 'topology', description: 'name of a saved topology, or the YAML text of a new one', required: true },
      { name: 'wait_established_s', description: 'seconds to wait for BGP sessions after the standup (default 60)', required: false },
    ],
  },
  needs: ['topology_validate', 'topology_plan', 'topology_standup', 'topology_status'],
  complete: async (lab, argument) => (argument === 'topology' ? Object.keys((await lab.store.read()).topologies).sort() : []),
  get: async (lab, args, has) => {
    const topology = args.topology?.trim();
    if (!topology) throw badArg('topology', 'give the name of a saved topology or the YAML of a new one');
    const wait = args.wait_established_s?.trim() || '60';
    if (!/^\d{1,3}$/.test(wait) || Number(wait) > 600)
      throw badArg('wait_established_s', `'${wait}' is not a number of seconds from 0 to 600`);
    const yaml = isYaml(topology);
    if (yaml && !has('topology_create')) throw badArg('topology', 'a new topology needs topology_create, which this server does not offer');
    const saved = (await lab.store.read()).topologies;
    if (!yaml && !saved[topology]) {
      throw badArg(
        'topology',
        `no saved topology '${topology}' (saved: ${Object.keys(saved).sort().join(', ') || 'none'}); give its YAML instead`,
      );
    }
    const name = yaml ? 'the name given in the file' : `'${topology}'`;
    const steps = numbered([
      yaml
        ? 'Check the file with topology_validate {"yaml": <the file below>}. If it is not valid, show me each error with its field path and propose a corrected file; do not go on until it is valid.'
        : `Check the saved file with topology_validate {"name": "${topology}"}. If it is not valid, show me each error with its field path and stop.`,
      yaml && 'Save it with topology_create {"yaml": <the file>} (if that name exists already, ask me before passing "replace": true).',
      `Run topology_plan for ${name} and show me the plan as a short table: for each network, node, session and tunnel the action (create, keep, update, recreate, delete) and its reason.`,
      'Ask me to confirm before applying it, pointing out every recreate and delete (those containers are removed). If I say no, stop here: nothing has changed.',
      `Apply it with topology_standup {"name": ${yaml ? '<its name>' : JSON.stringify(topology)}, "wait_established_s": ${wait}}. It reports progress; on failure it rolls back what it created, so tell me the error and its hint.`,
      `Check the result with topology_status for ${name}: list any node not running and any BGP session not Established from both ends.`,
      'If a session is not Established, troubleshoot it (the troubleshoot-bgp-session prompt) and tell me what you found.',
    ]);
    const text = `Plan, then apply the netstream-lab topology ${name}, step by step:\n\n${steps}${yaml ? `\n\nThe topology file:\n\n\`\`\`yaml\n${topology}\n\`\`\`` : ''}`;
    const messages: GetPromptResult['messages'] = [user(text)];
    if (!yaml && has('topology_get')) {
      // The saved file itself, so the plan can be read against it.
      const rec = saved[topology];
      messages.push({
        role: 'user',
        content: {
          type: 'resource',
          resource: {
            uri: `nslab://topology/${topology}/file`,
            mimeType: 'application/yaml',
            text: rec?.yaml ?? JSON.stringify(rec?.spec, null, 2),
          },
        },
      });
    }
    return { description: `Plan, then apply topology ${yaml ? '(new file)' : topology}`, messages };
  },
};
