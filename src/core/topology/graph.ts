/**
 * Drawings of a topology: Mermaid and Graphviz dot text, and SVG / PNG rendered without system
 * binaries (Graphviz compiled to WebAssembly, resvg with a bundled font). Routers and hosts by
 * kind, networks as boxes, BGP sessions and tunnels as edges coloured by their live state.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Desired } from './resolve.js';

export const GRAPH_FORMATS = ['mermaid', 'dot', 'svg', 'png'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** Live state to colour the edges with; absent: drawn from the file alone. */
export interface GraphState {
  sessions: Array<{ a: string; b: string; via: string; a_state?: string | undefined; b_state?: string | undefined }>;
  tunnels: Array<{ name: string; state: string }>;
  nodes: Array<{ name: string; state: string }>;
}

const KIND_FILL: Record<string, string> = {
  frr: '#fde2e4',
  gobgp: '#d8f3dc',
  exabgp: '#fff3bf',
  bird: '#dbeafe',
  openbgpd: '#ede9fe',
  host: '#e9ecef',
};
export const COLOUR = { established: '#2b9348', down: '#d00000', unknown: '#6c757d', tunnel: '#1d4ed8', link: '#adb5bd' } as const;

const short = (topology: string, name: string) => (name.startsWith(`${topology}-`) ? name.slice(topology.length + 1) : name);
const sessionUp = (s: GraphState['sessions'][number]) => s.a_state === 'Established' && s.b_state === 'Established';
const sessionColour = (s: GraphState['sessions'][number] | undefined) =>
  !s ? COLOUR.unknown : sessionUp(s) ? COLOUR.established : COLOUR.down;

interface Model {
  title: string;
  networks: Array<{ id: string; label: string }>;
  nodes: Array<{ id: string; label: string; kind: string; state?: string }>;
  links: Array<{ node: string; network: string; label: string }>;
  sessions: Array<{ a: string; b: string; label: string; colour: string }>;
  tunnels: Array<{ a: string; b: string; label: string; colour: string }>;
}

function model(d: Desired, live?: GraphState): Model {
  const t = d.topology;
  // '_' is written '__' and '-' '_d', so keys like r-1 and r_1 stay apart.
  const id = (name: string) => short(t, name).replace(/_/g, '__').replace(/-/g, '_d');
  const netId = (name: string) => `net_${id(name)}`;
  const nodeId = (name: string) => `node_${id(name)}`;
  return {
    title: t,
    networks: d.networks.map((n) => ({ id: netId(n.name), label: `${n.key}\\n${n.subnet}` })),
    nodes: d.nodes.map((n) => ({
      id: nodeId(n.name),
      kind: n.role === 'daemon' ? n.kind : 'host',
      label: n.role === 'daemon' ? `${n.key}\\n${n.kind} AS${n.asn}` : `${n.key}\\nhost`,
      ...(live ? { state: live.nodes.find((x) => x.name === n.name)?.state ?? 'missing' } : {}),
    })),
    links: d.nodes.flatMap((n) => n.interfaces.map((i) => ({ node: nodeId(n.name), network: netId(i.network), label: i.ip }))),
    sessions: d.sessions.map((s) => {
      const st = live?.sessions.find((x) => x.a === s.a && x.b === s.b && x.via === s.via);
      const state = !live ? 'BGP' : st && sessionUp(st) ? 'Established' : `${st?.a_state ?? '?'}/${st?.b_state ?? '?'}`;
      return {
        a: nodeId(s.a),
        b: nodeId(s.b),
        label: `BGP ${state === 'BGP' ? '' : state}`.trim(),
        colour: live ? sessionColour(st) : COLOUR.unknown,
      };
    }),
    tunnels: d.tunnels.map((x) => {
      const st = live?.tunnels.find((y) => y.name === x.name)?.state;
      return {
        a: nodeId(x.a.container),
        b: nodeId(x.b.container),
        label: `${x.name} ${x.mode}${st ? ` ${st}` : ''}`,
        colour: !live ? COLOUR.tunnel : st === 'up' ? COLOUR.tunnel : COLOUR.down,
      };
    }),
  };
}

/** A dot string; labels hold only names, addresses and our own `\n` line breaks. */
const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;

export function toDot(d: Desired, live?: GraphState): string {
  const m = model(d, live);
  const out = [
    `graph ${q(m.title)} {`,
    `  graph [layout=neato, overlap=false, splines=curved, sep="+16", fontname="DejaVu Sans", label=${q(`topology ${m.title}`)}, labelloc=t];`,
    '  node [fontname="DejaVu Sans", fontsize=11, style=filled];',
    '  edge [fontname="DejaVu Sans", fontsize=9];',
  ];
  for (const n of m.networks) out.push(`  ${n.id} [shape=box, style="rounded,filled", fillcolor="#e7f5ff", label="${n.label}"];`);
  for (const n of m.nodes) {
    const shape = n.kind === 'host' ? 'box' : 'ellipse';
    const pen = n.state && n.state !== 'running' ? `, color="${COLOUR.down}", penwidth=2` : '';
    out.push(`  ${n.id} [shape=${shape}, fillcolor="${KIND_FILL[n.kind] ?? '#ffffff'}", label="${n.label}"${pen}];`);
  }
  for (const l of m.links) out.push(`  ${l.node} -- ${l.network} [color="${COLOUR.link}", label=${q(l.label)}];`);
  for (const s of m.sessions)
    out.push(`  ${s.a} -- ${s.b} [color="${s.colour}", fontcolor="${s.colour}", penwidth=2.5, label=${q(s.label)}];`);
  for (const t of m.tunnels)
    out.push(`  ${t.a} -- ${t.b} [color="${t.colour}", fontcolor="${t.colour}", style=dashed, penwidth=2, label=${q(t.label)}];`);
  out.push('}', '');
  return out.join('\n');
}

export function toMermaid(d: Desired, live?: GraphState): string {
  const m = model(d, live);
  const br = (s: string) => s.replace(/\\n/g, '<br/>');
  const out = ['flowchart LR', `  %% topology ${m.title}`];
  for (const n of m.networks) out.push(`  ${n.id}[["${br(n.label)}"]]`);
  for (const n of m.nodes)
    out.push(n.kind === 'host' ? `  ${n.id}["${br(n.label)}"]:::${n.kind}` : `  ${n.id}(("${br(n.label)}")):::${n.kind}`);
  const styles: string[] = [];
  let edge = 0;
  for (const l of m.links) {
    out.push(`  ${l.node} ---|${l.label}| ${l.network}`);
    styles.push(`  linkStyle ${edge++} stroke:${COLOUR.link}`);
  }
  for (const s of m.sessions) {
    out.push(`  ${s.a} ===|${s.label}| ${s.b}`);
    styles.push(`  linkStyle ${edge++} stroke:${s.colour},stroke-width:3px`);
  }
  for (const t of m.tunnels) {
    out.push(`  ${t.a} -.-|${t.label}| ${t.b}`);
    styles.push(`  linkStyle ${edge++} stroke:${t.colour},stroke-width:2px`);
  }
  for (const [kind, fill] of Object.entries(KIND_FILL)) out.push(`  classDef ${kind} fill:${fill},stroke:#495057`);
  return `${[...out, ...styles].join('\n')}\n`;
}

let viz: Promise<{ renderString: (dot: string, opts: { format: string }) => string }> | undefined;

export async function toSvg(d: Desired, live?: GraphState): Promise<string> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  return (await viz).renderString(toDot(d, live), { format: 'svg' });
}

/** The bundled DejaVu font, so PNG text renders on machines without system fonts. */
function fontFiles(): string[] {
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json'));
    return [join(dir, 'ttf', 'DejaVuSans.ttf'), join(dir, 'ttf', 'DejaVuSans-Bold.ttf')];
  } catch {
    return [];
  }
}

export async function toPng(d: Desired, live?: GraphState): Promise<Buffer> {
  const svg = await toSvg(d, live);
  const { Resvg } = await import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { fontFiles: fontFiles(), loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return Buffer.from(r.render().asPng());
}
