import { catalogue } from '../../tools/index.js';

export const ENTRY_POINT = 'dist/src/cli/main.js';

/** manifest.json (MCP Bundle, manifest_version 0.3). The tools list comes from the catalogue. */
export function buildManifest(version: string): Record<string, unknown> {
  return {
    manifest_version: '0.3',
    name: 'netstream-lab',
    display_name: 'netstream-lab',
    version,
    description: 'Container BGP labs (FRR, GoBGP, ExaBGP, BIRD, OpenBGPD), hosts and networks on Docker, driven by an AI assistant.',
    long_description:
      'netstream-lab creates Docker networks with address allocation, BGP daemons (FRR, GoBGP, ExaBGP, BIRD, OpenBGPD) and hosts, and reports live BGP session state. Needs a Docker engine on the machine (or DOCKER_HOST). Lab images are built locally on first use.',
    author: { name: 'netstream-lab' },
    license: 'MIT',
    keywords: ['bgp', 'docker', 'frr', 'gobgp', 'exabgp', 'bird', 'openbgpd', 'network-lab'],
    server: {
      type: 'node',
      entry_point: ENTRY_POINT,
      mcp_config: {
        command: 'node',
        args: [`\${__dirname}/${ENTRY_POINT}`, 'mcp'],
        env: {
          NSLAB_DATA_DIR: '${user_config.data_dir}',
          DOCKER_HOST: '${user_config.docker_host}',
          NSLAB_READ_ONLY: '${user_config.read_only}',
          NSLAB_CONFIRM_DESTRUCTIVE: '${user_config.confirm_destructive}',
        },
      },
    },
    user_config: {
      data_dir: {
        type: 'string',
        title: 'Data folder',
        description: 'Folder of the lab store (state.json). Empty: ~/.local/share/netstream-lab.',
        required: false,
        default: '',
      },
      docker_host: {
        type: 'string',
        title: 'Docker engine',
        description: 'DOCKER_HOST, e.g. unix:///var/run/docker.sock or ssh://user@host. Empty: the local engine.',
        required: false,
        default: '',
      },
      read_only: {
        type: 'boolean',
        title: 'Read-only',
        description: 'Only list and inspect; hide every tool that changes the lab.',
        required: false,
        default: false,
      },
      confirm_destructive: {
        type: 'string',
        title: 'Confirm destructive tools',
        description:
          'elicit: ask before a tool removes or interrupts part of the lab when the client can ask, else run it; never: do not ask; always: refuse such tools when the client cannot ask. Empty: elicit.',
        required: false,
        default: '',
      },
    },
    tools: catalogue.map((t) => ({ name: t.name, description: t.description })),
    tools_generated: false,
    compatibility: { platforms: ['linux', 'darwin'], runtimes: { node: '>=22.0.0' } },
  };
}

export const manifestText = (version: string): string => `${JSON.stringify(buildManifest(version), null, 2)}\n`;
