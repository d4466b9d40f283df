// Docker image references, validated to the grammar of distribution/reference (the library the Docker
// CLI and dockerd parse with), so iron-api refuses at registration what the runner would refuse later,
// and the runner never hands the engine a string it would read as something else (a reference with
// `..` components becomes a path that the engine answers with a redirect: issue 13 item 2).
// Shared by both sides: no I/O, no imports.
//
//   reference        := name [ ":" tag ] [ "@" digest ]
//   name             := [domain "/"] remote-name
//   domain           := host [":" port]          host := domain-name | IPv4 | "[" IPv6 "]"
//   domain-name      := component ("." component)*   component := [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?
//   remote-name      := path-component ("/" path-component)*
//   path-component   := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
//   tag              := [\w][\w.-]{0,127}
//   digest           := algorithm ":" hex{32,}  algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)*

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ID = /^[a-f0-9]{64}$/;

/** Docker's limit on the name part (domain and path). */
export const MAX_IMAGE_NAME_LENGTH = 255;

export interface ImageRef {
  /** As given (not normalised: the engine adds docker.io/library/ itself). */
  name: string;
  tag: string | undefined;
  digest: string | undefined;
}

export type ImageRefResult = { ok: true; ref: ImageRef } | { ok: false; problem: string };

/** Parses like distribution/reference's ParseNormalizedNamed; `problem` is a sentence for an API answer. */
export function parseImageRef(input: string): ImageRefResult {
  if (typeof input !== 'string' || input === '') return { ok: false, problem: 'image reference is empty' };
  if (input.length > MAX_IMAGE_NAME_LENGTH + 200) return { ok: false, problem: `image reference is longer than ${MAX_IMAGE_NAME_LENGTH + 200} characters` };
  if (ID.test(input)) return { ok: false, problem: 'image reference cannot be a 64-character hexadecimal id (use name@sha256:...)' };
  const m = REFERENCE.exec(input);
  if (m === null) {
    if (REFERENCE.test(input.toLowerCase())) return { ok: false, problem: 'image repository name must be lowercase' };
    return {
      ok: false,
      problem:
        'image reference does not match Docker\'s grammar [host[:port]/]name[:tag][@digest] (lowercase name components of letters and digits separated by ".", "_", "__" or "-", no "..", spaces or control characters)',
    };
  }
  const name = m[1] ?? '';
  if (name.length > MAX_IMAGE_NAME_LENGTH) return { ok: false, problem: `image name is longer than ${MAX_IMAGE_NAME_LENGTH} characters` };
  // Uppercase can only have matched in the first component, which Docker then reads as a registry
  // host (splitDockerDomain), as the engine will: nothing more to check.
  return { ok: true, ref: { name, tag: m[2], digest: m[3] } };
}

/** Undefined when valid, else why not. */
export function imageRefProblem(input: string): string | undefined {
  const r = parseImageRef(input);
  return r.ok ? undefined : r.problem;
}
