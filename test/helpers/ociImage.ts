// OCI images made offline: blobs in a content-addressed folder, an image's config and manifest over
// its layers, and an archive of one rootfs folder for clients that import images (`ctr images
// import`): one uncompressed layer, its config, a manifest and an index naming it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A layer as an image names it: its blob's descriptor and the digest of its uncompressed tar. */
export interface Layer {
  descriptor: Descriptor;
  diffId: string;
}

/** What writes a blob into a content-addressed folder (an OCI layout's blobs/sha256) and describes it. */
export type BlobWriter = (content: Buffer | string, mediaType: string) => Descriptor;

export function blobWriter(blobs: string): BlobWriter {
  mkdirSync(blobs, { recursive: true });
  return (content, mediaType) => {
    const digest = sha256(content);
    writeFileSync(join(blobs, digest), content);
    return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
  };
}

/** The image config's runtime part (the OCI image spec's `config`: Cmd, Entrypoint, Env, User...). */
export type ImageConfig = Record<string, unknown>;

/** An image of LAYERS running with CONFIG: its config and manifest written with BLOB; the manifest's descriptor. */
export function writeImage(blob: BlobWriter, layers: Layer[], config: ImageConfig): Descriptor {
  const configBlob = blob(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configBlob, layers: layers.map((l) => l.descriptor) };
  return blob(JSON.stringify(manifest), manifest.mediaType);
}

export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Write the image of ROOTFS, named REF, running CMD, as an OCI archive at OUT (made in a WORK folder). */
export function makeOciArchive(rootfs: string, ref: string, work: string, out: string, cmd = ['sh']): void {
  const blob = blobWriter(join(work, 'blobs', 'sha256'));
  const layerTar = join(work, 'layer.tar');
  const tar = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', layerTar, '.']);
  if (tar.status !== 0) throw new Error(`tar of ${rootfs}: ${tar.stderr}`);
  const layer = blob(readFileSync(layerTar), 'application/vnd.oci.image.layer.v1.tar');
  const manifest = writeImage(blob, [{ descriptor: layer, diffId: layer.digest }], { Cmd: cmd, Env: [PATH_ENV] });
  writeFileSync(join(work, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const archive = spawnSync('tar', ['-C', work, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  if (archive.status !== 0) throw new Error(`tar of the image: ${archive.stderr}`);
}
