import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { statusOf } from './client.js';
import type { Dial } from './dial.js';
import { LABELS } from './labels.js';

export type ImageSummary = Docker.ImageInfo;

export interface BuildSpec {
  /** the tag to give the image */
  tag: string;
  /** which lab image it is: its label (a lab image carries no `managed` label; see LABELS.image) */
  kind: string;
  buildargs: Record<string, string>;
}

/** Images by reference. Every call goes through the dial (error mapping, log with the reference). */
export class ImagesClient {
  constructor(private readonly dial: Dial) {}

  async exists(ref: string): Promise<boolean> {
    try {
      await this.dial.run('image.inspect', ref, (api) => api.getImage(ref).inspect());
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /** The lab's images on this engine (by their image label). */
  listLab(): Promise<ImageSummary[]> {
    return this.dial.run('image.list', undefined, (api) => api.listImages({ filters: { label: [LABELS.image] } }));
  }

  /** `docker save` of one image, as a tar stream. */
  save(ref: string): Promise<NodeJS.ReadableStream> {
    return this.dial.run('image.save', ref, (api) => api.getImage(ref).get());
  }

  /**
   * `docker load` of a tar stream; the engine's answer, read to the end (it reports a load that
   * failed inside the answer, not as a status).
   */
  async load(tar: NodeJS.ReadableStream, ref: string): Promise<string> {
    const answer = await this.dial.run('image.load', ref, (api) => api.loadImage(tar, { quiet: true }));
    const chunks: Buffer[] = [];
    for await (const c of answer as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Give an image another tag (`repo:tag`), e.g. the :latest that exported containerlab files name. */
  async tag(ref: string, repo: string, tag: string): Promise<void> {
    await this.dial.run('image.tag', ref, (api) => api.getImage(ref).tag({ repo, tag }));
  }

  /**
   * Build from a context tar, following the build's output (`onEvent` hears each line); what
   * Docker said went wrong, or undefined when the image was built.
   */
  async build(context: Readable, spec: BuildSpec, onEvent: (e: { stream?: string }) => void): Promise<string | undefined> {
    const stream = await this.dial.run('image.build', spec.tag, (api) =>
      api.buildImage(context, { t: spec.tag, buildargs: spec.buildargs, labels: { [LABELS.image]: spec.kind }, rm: true }),
    );
    return new Promise((resolve) => {
      this.dial.api.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => resolve(err?.message ?? output?.find((o) => o.error)?.error),
        onEvent,
      );
    });
  }
}
