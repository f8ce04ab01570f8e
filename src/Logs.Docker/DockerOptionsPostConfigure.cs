using Microsoft.Extensions.Options;

namespace LogsMigration.Docker;

/// <summary>
/// With no host configured, reads logs from the one the docker CLI would use: <c>DOCKER_HOST</c> (with
/// <c>DOCKER_CERT_PATH</c> when <c>DOCKER_TLS_VERIFY</c> is set), else the default socket. Runs before validation.
/// </summary>
public sealed class DockerOptionsPostConfigure : IPostConfigureOptions<DockerOptions>
{
    private const string DockerHostVariable = "DOCKER_HOST";
    private const string TlsVerifyVariable = "DOCKER_TLS_VERIFY";
    private const string CertPathVariable = "DOCKER_CERT_PATH";

    public void PostConfigure(string? name, DockerOptions options)
    {
        if (options.Hosts.Count > 0)
            return;
        var endpoint = Environment.GetEnvironmentVariable(DockerHostVariable);
        var tls = string.IsNullOrEmpty(Environment.GetEnvironmentVariable(TlsVerifyVariable))
            ? null
            : Environment.GetEnvironmentVariable(CertPathVariable);
        options.Hosts[DockerOptions.LocalHostId] = new DockerHostOptions
        {
            Endpoint = string.IsNullOrEmpty(endpoint) ? DockerOptions.DefaultEndpoint : endpoint,
            TlsCertificateDirectory = string.IsNullOrEmpty(tls) ? null : tls,
        };
    }
}
