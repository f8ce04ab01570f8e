using LogsMigration.Docker;
using LogsMigration.Docker.Stacks;

namespace LogsMigration.Tests.Unit.Docker;

/// <summary>The start-up checks of <c>Docker:Stacks</c>, the merge's bound and the service read's stall limits.</summary>
public sealed class StackOptionsValidatorTests
{
    private static DockerOptions Options(StackOptions stacks, int maxHeld = 10_000)
    {
        var options = new DockerOptions { DefaultHost = "h", Stacks = stacks, ServiceMergeMaxHeldLines = maxHeld };
        options.Hosts["h"] = new DockerHostOptions { Endpoint = "unix:///var/run/docker.sock" };
        return options;
    }

    [Fact]
    public void Validate_Defaults_Succeed() => Assert.True(new DockerOptionsValidator().Validate(null, Options(new StackOptions())).Succeeded);

    [Fact]
    public void Validate_OutOfRange_FailsNamingEachSetting()
    {
        var stacks = new StackOptions
        {
            PollInterval = TimeSpan.Zero,
            BufferedLines = 0,
            MemberRetryInitialBackoff = TimeSpan.Zero,
            MemberRetryMaxBackoff = TimeSpan.FromHours(1),
            MemberRetryGiveUpAfter = TimeSpan.FromDays(1),
            FailedMemberRetryAfter = TimeSpan.Zero,
            RemovalDrainTimeout = TimeSpan.FromHours(1),
            MaxTrackedReplicas = 0,
        };

        var options = Options(stacks, maxHeld: 0);
        options.ServiceReadStallTimeout = TimeSpan.FromMilliseconds(500);
        options.ServiceReadStallRetries = -1;
        var failures = new DockerOptionsValidator().Validate(null, options).Failures!;

        foreach (var setting in new[] { "ServiceReadStallTimeout", "ServiceReadStallRetries", "Stacks:PollInterval", "Stacks:BufferedLines", "Stacks:MemberRetryInitialBackoff", "Stacks:MemberRetryMaxBackoff", "Stacks:MemberRetryGiveUpAfter", "Stacks:FailedMemberRetryAfter", "Stacks:RemovalDrainTimeout", "Stacks:MaxTrackedReplicas", "ServiceMergeMaxHeldLines" })
            Assert.Contains(failures, f => f.StartsWith($"Docker:{setting} must be", StringComparison.Ordinal));
    }
}
