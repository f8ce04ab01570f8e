using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Rollout;

/// <summary>How a drain spreads reconnections. Bound from the <c>Rollout</c> section; validated at start-up.</summary>
public sealed class RolloutOptions
{
    public const string SectionName = "Rollout";

    /// <summary>A drain closes each affected session at a random moment within this window, so clients do not all reconnect in the same second. Default 30 s.</summary>
    public TimeSpan DrainWindow { get; set; } = TimeSpan.FromSeconds(30);

    internal sealed class Validator : IValidateOptions<RolloutOptions>
    {
        public ValidateOptionsResult Validate(string? name, RolloutOptions o) =>
            o.DrainWindow < TimeSpan.Zero || o.DrainWindow > TimeSpan.FromHours(1)
                ? ValidateOptionsResult.Fail($"Rollout:DrainWindow must be between 00:00:00 and 01:00:00 (was {o.DrainWindow}).")
                : ValidateOptionsResult.Success;
    }
}
