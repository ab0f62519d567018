/** Child process for the store test: adds N allocations to one network, one update at a time. */
import { Store } from '../../src/core/store/store.js';

const [dir, tag, count] = process.argv.slice(2);
const store = new Store(dir as string);
for (let i = 0; i < Number(count); i++) {
  await store.update((s) => {
    const net = s.networks.shared;
    if (!net) throw new Error('network "shared" missing');
    net.allocations[`${tag}-${i}`] = tag as string;
  });
}
