using Microsoft.Extensions.Options;

namespace Berth.Application.Scanning;

/// <summary>Checks <see cref="ScanningOptions"/> at start-up; each failure is one line naming the setting.</summary>
internal sealed class ScanningOptionsValidator : IValidateOptions<ScanningOptions>
{
    public ValidateOptionsResult Validate(string? name, ScanningOptions options)
    {
        if (options.Concurrency is < 1 or > ScanningOptions.MaxConcurrency)
        {
            return ValidateOptionsResult.Fail($"scanning: {ScanningOptions.Section}:Concurrency is {options.Concurrency}; give 1 to {ScanningOptions.MaxConcurrency}");
        }

        if (options.Lease < TimeSpan.FromSeconds(3))
        {
            return ValidateOptionsResult.Fail($"scanning: {ScanningOptions.Section}:Lease is {options.Lease}; give at least 3 seconds (a claim is renewed every third of it)");
        }

        if (options.PollInterval <= TimeSpan.Zero || options.RescanInterval <= TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail($"scanning: {ScanningOptions.Section}:PollInterval and RescanInterval must be positive");
        }

        return ValidateOptionsResult.Success;
    }
}
