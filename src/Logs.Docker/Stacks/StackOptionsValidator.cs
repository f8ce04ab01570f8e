namespace LogsMigration.Docker.Stacks;

/// <summary>The start-up checks of <c>Docker:Stacks</c>, called by <see cref="DockerOptionsValidator"/>.</summary>
internal static class StackOptionsValidator
{
    private static readonly TimeSpan MinPollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaxGiveUp = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxFailedRetry = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxDrain = TimeSpan.FromMinutes(2);
    private const int MaxBufferedLines = 1_000_000;
    private const int MaxTrackedReplicas = 100_000;

    public static void Validate(StackOptions? options, List<string> errors)
    {
        const string prefix = $"{DockerOptions.SectionName}:Stacks";
        if (options is null)
        {
            errors.Add($"{prefix}: the section has no settings.");
            return;
        }
        if (options.PollInterval < MinPollInterval || options.PollInterval > MaxPollInterval)
            errors.Add($"{prefix}:PollInterval must be between {MinPollInterval} and {MaxPollInterval} (was {options.PollInterval}).");
        if (options.BufferedLines is < 1 or > MaxBufferedLines)
            errors.Add($"{prefix}:BufferedLines must be between 1 and {MaxBufferedLines} (was {options.BufferedLines}).");
        if (options.MemberRetryInitialBackoff <= TimeSpan.Zero || options.MemberRetryInitialBackoff > MaxBackoff)
            errors.Add($"{prefix}:MemberRetryInitialBackoff must be more than 00:00:00 and at most {MaxBackoff} (was {options.MemberRetryInitialBackoff}).");
        if (options.MemberRetryMaxBackoff < options.MemberRetryInitialBackoff || options.MemberRetryMaxBackoff > MaxBackoff)
            errors.Add($"{prefix}:MemberRetryMaxBackoff must be between MemberRetryInitialBackoff and {MaxBackoff} (was {options.MemberRetryMaxBackoff}).");
        if (options.MemberRetryGiveUpAfter < TimeSpan.Zero || options.MemberRetryGiveUpAfter > MaxGiveUp)
            errors.Add($"{prefix}:MemberRetryGiveUpAfter must be between 00:00:00 and {MaxGiveUp} (was {options.MemberRetryGiveUpAfter}).");
        if (options.FailedMemberRetryAfter < MinPollInterval || options.FailedMemberRetryAfter > MaxFailedRetry)
            errors.Add($"{prefix}:FailedMemberRetryAfter must be between {MinPollInterval} and {MaxFailedRetry} (was {options.FailedMemberRetryAfter}).");
        if (options.RemovalDrainTimeout < TimeSpan.Zero || options.RemovalDrainTimeout > MaxDrain)
            errors.Add($"{prefix}:RemovalDrainTimeout must be between 00:00:00 and {MaxDrain} (was {options.RemovalDrainTimeout}).");
        if (options.MaxTrackedReplicas is < 1 or > MaxTrackedReplicas)
            errors.Add($"{prefix}:MaxTrackedReplicas must be between 1 and {MaxTrackedReplicas} (was {options.MaxTrackedReplicas}).");
    }
}
