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

/** Graph ids of networks and nodes: '_' is written '__' and '-' '_d', so keys like r-1 and r_1 stay apart. */
function graphIds(t: string) {
  const id = (name: string) => short(t, name).replace(/_/g, '__').replace(/-/g, '_d');
  return { netId: (name: string) => `net_${id(name)}`, nodeId: (name: string) => `node_${id(name)}` };
}

function model(d: Desired, live?: GraphState): Model {
  const t = d.topology;
  const { netId, nodeId } = graphIds(t);
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

export function toDot(d: Desired, live?: GraphState, opts: { edgeIds?: boolean } = {}): string {
  const m = model(d, live);
  // toLayout names each edge (e0, e1, ... in the order written) to find it in Graphviz's answer.
  let edge = 0;
  const eid = () => (opts.edgeIds ? `, id="e${edge++}"` : '');
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
  for (const l of m.links) out.push(`  ${l.node} -- ${l.network} [color="${COLOUR.link}", label=${q(l.label)}${eid()}];`);
  for (const s of m.sessions)
    out.push(`  ${s.a} -- ${s.b} [color="${s.colour}", fontcolor="${s.colour}", penwidth=2.5, label=${q(s.label)}${eid()}];`);
  for (const t of m.tunnels)
    out.push(`  ${t.a} -- ${t.b} [color="${t.colour}", fontcolor="${t.colour}", style=dashed, penwidth=2, label=${q(t.label)}${eid()}];`);
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

/** One line of a label where Graphviz put it (y grows downwards, as in SVG). */
export interface LayoutText {
  text: string;
  x: number;
  y: number;
}

interface LayoutBox {
  /** centre, and size, in points */
  x: number;
  y: number;
  w: number;
  h: number;
  text: LayoutText[];
}

export interface LayoutEdge {
  /** link: a node on a network; session: BGP; tunnel: GRE or VXLAN */
  kind: 'link' | 'session' | 'tunnel';
  /** full names: of the nodes (a link: the node, then the network) */
  a: string;
  b: string;
  /** SVG path data (cubic Béziers) */
  path: string;
  text: LayoutText[];
  /** sessions: each end's address, the network or tunnel it runs over, each end's state as read */
  a_ip?: string;
  b_ip?: string;
  via?: string;
  a_state?: string;
  b_state?: string;
  /** tunnels: its name; state as read */
  name?: string;
  /** sessions: up (Established at both ends), down, or unknown (not deployed, or not read); tunnels: up, down, unknown */
  state?: 'up' | 'down' | 'unknown';
}

/**
 * A topology laid out by the same engine and drawing as toDot/toSvg (neato), as data: where each
 * network, node and edge is, for a page that draws it itself and recolours it as events come.
 */
export interface GraphLayout {
  topology: string;
  /** states are from the running lab */
  live: boolean;
  width: number;
  height: number;
  networks: Array<LayoutBox & { name: string; key: string; subnet: string }>;
  nodes: Array<LayoutBox & { name: string; key: string; role: 'daemon' | 'host'; kind: string; asn?: number; state?: string }>;
  edges: LayoutEdge[];
}

interface XdotOp {
  op: string;
  points?: number[][];
  pt?: number[];
  text?: string;
}
interface JsonGraph {
  bb?: string;
  objects?: Array<{ _gvid: number; name: string; pos?: string; width?: string; height?: string; _ldraw_?: XdotOp[] }>;
  edges?: Array<{ id?: string; tail: number; head: number; _draw_?: XdotOp[]; _ldraw_?: XdotOp[] }>;
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export async function toLayout(d: Desired, live?: GraphState): Promise<GraphLayout> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  const g = JSON.parse((await viz).renderString(toDot(d, live, { edgeIds: true }), { format: 'json' })) as JsonGraph;
  const [, , width = 0, height = 0] = (g.bb ?? '0,0,0,0').split(',').map(Number);
  const y = (v: number) => r2(height - v);
  const texts = (ops: XdotOp[] | undefined): LayoutText[] =>
    (ops ?? []).flatMap((o) =>
      o.op === 'T' && o.pt && typeof o.text === 'string' ? [{ text: o.text, x: r2(o.pt[0] ?? 0), y: y(o.pt[1] ?? 0) }] : [],
    );
  const objects = g.objects ?? [];
  const byName = new Map(objects.map((o) => [o.name, o]));
  const byGvid = new Map(objects.map((o) => [o._gvid, o.name]));
  const box = (id: string): LayoutBox => {
    const o = byName.get(id);
    const [x = 0, yy = 0] = (o?.pos ?? '0,0').split(',').map(Number);
    return { x: r2(x), y: y(yy), w: r2(Number(o?.width ?? 0) * 72), h: r2(Number(o?.height ?? 0) * 72), text: texts(o?._ldraw_) };
  };
  const { netId, nodeId } = graphIds(d.topology);

  // toDot writes links, sessions, tunnels in this order, as e0, e1, ...
  const wanted: Array<Omit<LayoutEdge, 'path' | 'text'> & { ids: [string, string] }> = [
    ...d.nodes.flatMap((n) =>
      n.interfaces.map((i) => ({
        kind: 'link' as const,
        a: n.name,
        b: i.network,
        ids: [nodeId(n.name), netId(i.network)] as [string, string],
      })),
    ),
    ...d.sessions.map((s) => {
      const st = live?.sessions.find((x) => x.a === s.a && x.b === s.b && x.via === s.via);
      const state = !st ? 'unknown' : sessionUp(st) ? 'up' : 'down';
      return {
        kind: 'session' as const,
        a: s.a,
        b: s.b,
        a_ip: s.a_ip,
        b_ip: s.b_ip,
        via: s.via,
        ...(st?.a_state ? { a_state: st.a_state } : {}),
        ...(st?.b_state ? { b_state: st.b_state } : {}),
        state: state as LayoutEdge['state'],
        ids: [nodeId(s.a), nodeId(s.b)] as [string, string],
      };
    }),
    ...d.tunnels.map((t) => {
      const st = live?.tunnels.find((x) => x.name === t.name)?.state;
      return {
        kind: 'tunnel' as const,
        a: t.a.container,
        b: t.b.container,
        name: t.name,
        state: (!st ? 'unknown' : st === 'up' ? 'up' : 'down') as LayoutEdge['state'],
        ids: [nodeId(t.a.container), nodeId(t.b.container)] as [string, string],
      };
    }),
  ];
  const drawn = new Map((g.edges ?? []).map((e) => [e.id, e]));
  const edges = wanted.map(({ ids, ...e }, i): LayoutEdge => {
    const de = drawn.get(`e${i}`);
    const ends = [byGvid.get(de?.tail ?? -1), byGvid.get(de?.head ?? -1)];
    if (!de || !ends.includes(ids[0]) || !ends.includes(ids[1])) throw new Error(`graph layout: edge ${i} is not ${ids.join(' -- ')}`);
    const pts = (de._draw_ ?? []).find((o) => (o.op === 'b' || o.op === 'B') && o.points)?.points ?? [];
    const xy = (p: number[] | undefined) => `${r2(p?.[0] ?? 0)},${y(p?.[1] ?? 0)}`;
    const rest: string[] = [];
    for (let k = 1; k + 2 < pts.length; k += 3) rest.push(`C${xy(pts[k])} ${xy(pts[k + 1])} ${xy(pts[k + 2])}`);
    return { ...e, path: pts.length ? `M${xy(pts[0])} ${rest.join(' ')}`.trim() : '', text: texts(de._ldraw_) };
  });
  return {
    topology: d.topology,
    live: !!live,
    width: r2(width),
    height: r2(height),
    networks: d.networks.map((n) => ({ name: n.name, key: n.key, subnet: n.subnet, ...box(netId(n.name)) })),
    nodes: d.nodes.map((n) => ({
      name: n.name,
      key: n.key,
      role: n.role,
      kind: n.role === 'daemon' ? n.kind : 'host',
      ...(n.role === 'daemon' ? { asn: n.asn } : {}),
      ...(live ? { state: live.nodes.find((x) => x.name === n.name)?.state ?? 'missing' } : {}),
      ...box(nodeId(n.name)),
    })),
    edges,
  };
}
