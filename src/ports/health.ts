/**
 * A dependency the readiness probe checks. `check` rejects when the dependency cannot serve;
 * the caller bounds it with a timeout, so an adapter need not.
 */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
}
