/**
 * Which kernelspecs run heapscope: recognised by their metadata (`metadata.heapscope`, written by
 * `heapscope install-kernel` and the packaged kernelspec), not by their name, since gateways and
 * kernel images name kernelspecs their own way (docs/remote-kernels.md). Pure.
 */

/**
 * The kernelspec name heapscope installs; also recognised when a kernelspec has no metadata
 * (written before the metadata existed).
 */
export const PACKAGED_KERNEL = 'heapscope';

/**
 * A kernelspec as the kernelspecs API describes it (only what is read here).
 */
export interface IKernelSpecLike {
  readonly name: string;
  readonly display_name?: string;
  readonly metadata?: { readonly [key: string]: unknown };
}

/**
 * The kernelspecs the server offers (`KernelSpec.ISpecModels`, only what is read here).
 */
export interface IKernelSpecsLike {
  readonly default?: string;
  readonly kernelspecs: { readonly [name: string]: IKernelSpecLike | undefined };
}

/**
 * Whether a kernelspec runs heapscope.
 *
 * @param spec - the kernelspec, or undefined when unknown.
 */
export function isHeapscopeSpec(spec: IKernelSpecLike | undefined): boolean {
  if (!spec) {
    return false;
  }
  const mark = spec.metadata?.heapscope;
  return (typeof mark === 'object' && mark !== null) || mark === true || spec.name === PACKAGED_KERNEL;
}

/**
 * Whether the kernel of that kernelspec name runs heapscope.
 *
 * @param specs - the server's kernelspecs, or null before they are known.
 * @param name - the kernel's kernelspec name.
 */
export function isHeapscopeKernel(specs: IKernelSpecsLike | null | undefined, name: string | undefined): boolean {
  if (!name) {
    return false;
  }
  return isHeapscopeSpec(specs?.kernelspecs[name] ?? { name });
}

/**
 * The heapscope kernelspec to switch a notebook to: the packaged `heapscope` when the server has
 * it, else the default kernelspec when it is a heapscope one, else the first by name.
 *
 * @param specs - the server's kernelspecs, or null before they are known.
 * @returns its name and display name, or null when the server has none.
 */
export function heapscopeKernelSpec(
  specs: IKernelSpecsLike | null | undefined
): { name: string; displayName: string } | null {
  if (!specs) {
    return null;
  }
  const names = Object.keys(specs.kernelspecs)
    .filter(name => isHeapscopeSpec(specs.kernelspecs[name]))
    .sort();
  const name = names.includes(PACKAGED_KERNEL)
    ? PACKAGED_KERNEL
    : specs.default && names.includes(specs.default)
      ? specs.default
      : names[0];
  if (name === undefined) {
    return null;
  }
  return { name, displayName: specs.kernelspecs[name]?.display_name || name };
}
