import { heapscopeKernelSpec, isHeapscopeKernel, isHeapscopeSpec } from './kernelspecs';

const plain = { name: 'python3', display_name: 'Python 3', metadata: { debugger: true } };
const gatewayDocker = {
  name: 'python_docker_heapscope',
  display_name: 'Python on Docker (heapscope)',
  metadata: { process_proxy: {}, heapscope: { profiled: true } }
};
const gatewayK8s = {
  name: 'python_kubernetes_heapscope',
  display_name: 'Python on Kubernetes (heapscope)',
  metadata: { heapscope: { profiled: true } }
};

describe('heapscope kernelspecs', () => {
  it('are recognised by their metadata, whatever their name', () => {
    expect(isHeapscopeSpec(gatewayDocker)).toBe(true);
    expect(isHeapscopeSpec(plain)).toBe(false);
    expect(isHeapscopeSpec({ name: 'x', metadata: { heapscope: true } })).toBe(true);
    expect(isHeapscopeSpec({ name: 'x', metadata: { heapscope: 'yes' } })).toBe(false);
    expect(isHeapscopeSpec({ name: 'heapscope' })).toBe(true); // installed before the metadata
    expect(isHeapscopeSpec(undefined)).toBe(false);
  });

  it('tell a kernel by its kernelspec name', () => {
    const specs = { default: 'python3', kernelspecs: { python3: plain, python_docker_heapscope: gatewayDocker } };
    expect(isHeapscopeKernel(specs, 'python_docker_heapscope')).toBe(true);
    expect(isHeapscopeKernel(specs, 'python3')).toBe(false);
    expect(isHeapscopeKernel(specs, undefined)).toBe(false);
    expect(isHeapscopeKernel(null, 'heapscope')).toBe(true);
    expect(isHeapscopeKernel(null, 'python_docker_heapscope')).toBe(false);
  });

  it('pick the one to switch to: heapscope, else the default, else the first by name', () => {
    const packaged = { name: 'heapscope', display_name: 'Python 3 (heapscope)', metadata: { heapscope: {} } };
    expect(
      heapscopeKernelSpec({
        kernelspecs: { python3: plain, heapscope: packaged, python_docker_heapscope: gatewayDocker }
      })
    ).toEqual({ name: 'heapscope', displayName: 'Python 3 (heapscope)' });
    expect(
      heapscopeKernelSpec({
        default: 'python_kubernetes_heapscope',
        kernelspecs: { python_docker_heapscope: gatewayDocker, python_kubernetes_heapscope: gatewayK8s }
      })
    ).toEqual({ name: 'python_kubernetes_heapscope', displayName: 'Python on Kubernetes (heapscope)' });
    expect(
      heapscopeKernelSpec({
        default: 'python3',
        kernelspecs: { python3: plain, python_kubernetes_heapscope: gatewayK8s, python_docker_heapscope: gatewayDocker }
      })
    ).toEqual({ name: 'python_docker_heapscope', displayName: 'Python on Docker (heapscope)' });
    expect(heapscopeKernelSpec({ kernelspecs: { python3: plain } })).toBeNull();
    expect(heapscopeKernelSpec(null)).toBeNull();
  });
});
