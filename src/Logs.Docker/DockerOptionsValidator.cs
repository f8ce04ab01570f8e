using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker;

/// <summary>Start-up validation: a bad host entry stops the service with a message naming the setting.</summary>
public sealed partial class DockerOptionsValidator : IValidateOptions<DockerOptions>
{
    /// <summary>The oldest Engine API the sources are written against (dockerd 20.10).</summary>
    public static readonly Version MinimumApiVersion = new(1, 41);

    private static readonly string[] SupportedSchemes = ["unix", "tcp", "http", "https"];
    private static readonly TimeSpan MaxRestartGrace = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MaxServiceMergeWindow = TimeSpan.FromSeconds(10);
    private const int MaxServiceMergeHeldLines = 1_000_000;
    private static readonly TimeSpan MinServiceReadStallTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxServiceReadStallTimeout = TimeSpan.FromMinutes(10);
    private const int MaxServiceReadStallRetries = 100;

    public ValidateOptionsResult Validate(string? name, DockerOptions options)
    {
        var errors = new List<string>();
        foreach (var (id, host) in options.Hosts)
        {
            var prefix = $"{DockerOptions.SectionName}:Hosts:{id}";
            if (!HostIdPattern().IsMatch(id))
                errors.Add($"{prefix}: host ids are 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.");
            if (host is null)
            {
                errors.Add($"{prefix}: the host has no settings.");
                continue;
            }
            ValidateEndpoint(prefix, host, errors);
            ValidateApiVersion(prefix, host.ApiVersion, errors);
            HostLogs.HostLogOptionsValidator.ValidateLocation($"{prefix}:SystemLog", host.SystemLog, errors);
            HostLogs.HostLogOptionsValidator.ValidateLocation($"{prefix}:DaemonLog", host.DaemonLog, errors);
        }
        if (!options.Hosts.ContainsKey(options.DefaultHost ?? ""))
            errors.Add($"{DockerOptions.SectionName}:DefaultHost '{options.DefaultHost}' is not one of the configured hosts ({string.Join(", ", options.Hosts.Keys)}).");
        if (options.RestartSeamMargin < TimeSpan.Zero || options.RestartSeamMargin > MaxRestartGrace)
            errors.Add($"{DockerOptions.SectionName}:RestartSeamMargin must be between 00:00:00 and {MaxRestartGrace} (was {options.RestartSeamMargin}).");
        if (options.RestartGrace < TimeSpan.Zero || options.RestartGrace > MaxRestartGrace)
            errors.Add($"{DockerOptions.SectionName}:RestartGrace must be between 00:00:00 and {MaxRestartGrace} (was {options.RestartGrace}).");
        if (options.ServiceMergeWindow < TimeSpan.Zero || options.ServiceMergeWindow > MaxServiceMergeWindow)
            errors.Add($"{DockerOptions.SectionName}:ServiceMergeWindow must be between 00:00:00 and {MaxServiceMergeWindow} (was {options.ServiceMergeWindow}).");
        if (options.ServiceMergeMaxHeldLines is < 1 or > MaxServiceMergeHeldLines)
            errors.Add($"{DockerOptions.SectionName}:ServiceMergeMaxHeldLines must be between 1 and {MaxServiceMergeHeldLines} (was {options.ServiceMergeMaxHeldLines}).");
        if (options.ServiceReadStallTimeout < MinServiceReadStallTimeout || options.ServiceReadStallTimeout > MaxServiceReadStallTimeout)
            errors.Add($"{DockerOptions.SectionName}:ServiceReadStallTimeout must be between {MinServiceReadStallTimeout} and {MaxServiceReadStallTimeout} (was {options.ServiceReadStallTimeout}).");
        if (options.ServiceReadStallRetries is < 0 or > MaxServiceReadStallRetries)
            errors.Add($"{DockerOptions.SectionName}:ServiceReadStallRetries must be between 0 and {MaxServiceReadStallRetries} (was {options.ServiceReadStallRetries}).");
        HostLogs.HostLogOptionsValidator.Validate(options.HostLogs, errors);
        Stacks.StackOptionsValidator.Validate(options.Stacks, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateEndpoint(string prefix, DockerHostOptions host, List<string> errors)
    {
        if (!Uri.TryCreate(host.Endpoint, UriKind.Absolute, out var endpoint)
            || !SupportedSchemes.Contains(endpoint.Scheme, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{prefix}:Endpoint '{host.Endpoint}' must be an absolute URI with scheme {string.Join(", ", SupportedSchemes)}.");
            return;
        }
        if (host.TlsCertificateDirectory is { } tls)
        {
            if (endpoint.Scheme.Equals("unix", StringComparison.OrdinalIgnoreCase))
                errors.Add($"{prefix}:TlsCertificateDirectory is set, but a unix socket endpoint does not use TLS.");
            else if (!Directory.Exists(tls))
                errors.Add($"{prefix}:TlsCertificateDirectory '{tls}' does not exist.");
        }
    }

    private static void ValidateApiVersion(string prefix, string? apiVersion, List<string> errors)
    {
        if (apiVersion is null)
            return;
        if (!Version.TryParse(apiVersion, out var version) || version.Build >= 0)
            errors.Add($"{prefix}:ApiVersion '{apiVersion}' must be MAJOR.MINOR, for example 1.41.");
        else if (version < MinimumApiVersion)
            errors.Add($"{prefix}:ApiVersion {apiVersion} is older than {MinimumApiVersion}, the oldest supported.");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex HostIdPattern();
}
