namespace Berth.Signing.Tests.Support;

/// <summary>
/// A test that needs npm's @sigstore/sign and @sigstore/bundle, found through <c>BERTH_SIGSTORE_MODULES</c> (default
/// /opt/berth-sigstore/node_modules). Missing: skipped with the reason locally; when <c>CI</c> is set the test runs and
/// fails with the install line instead.
/// </summary>
public sealed class SigstoreFactAttribute : FactAttribute
{
    public SigstoreFactAttribute()
    {
        if (SigstoreModules.Missing is { } reason && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Skip = reason;
        }
    }
}
