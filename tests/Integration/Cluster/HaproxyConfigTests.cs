using System.Diagnostics;
using LogsMigration.Tests.Integration.Infrastructure;
using LogsMigration.Tests.Support;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>The shipped <c>deploy/haproxy/haproxy.cfg</c> as Debian's HAProxy parses it (<c>haproxy -c</c>), with an operator's settings.</summary>
public sealed class HaproxyConfigTests
{
    private static async Task<(int Code, string Output)> CheckAsync(string bind)
    {
        var info = new ProcessStartInfo("haproxy", ["-c", "-f", HaproxyProcess.ShippedConfig])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var settings = HaproxyProcess.Settings([HaproxyProcess.PortBase + 1, HaproxyProcess.PortBase + 2, HaproxyProcess.PortBase + 3],
            Path.Combine(Path.GetTempPath(), "lmit-haproxy-check.sock"), "check", proxyBind: bind);
        foreach (var (key, value) in settings.Environment())
            info.Environment[key] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException("haproxy did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output + await error);
    }

    /// <summary>
    /// LOGS_PROXY_BIND carries the bind's TLS options ("addr ssl crt FILE"): they must reach HAProxy as options. Taken
    /// as one quoted word, the whole value was the address and the file was valid with no TLS at all; split, a missing
    /// certificate is an error and a real one is accepted.
    /// </summary>
    [Fact]
    public async Task ProxyBindWithTlsOptions_TheOptionsAreParsedNotSwallowedIntoTheAddress()
    {
        var port = HaproxyProcess.PortBase;
        var (plainCode, plain) = await CheckAsync($"127.0.0.1:{port}");
        Assert.True(plainCode == 0, plain);

        var missing = Path.Combine(Path.GetTempPath(), "lmit-no-such-cert-" + Guid.NewGuid().ToString("N")[..8] + ".pem");
        var (missingCode, missingOutput) = await CheckAsync($"127.0.0.1:{port} ssl crt {missing}");
        Assert.NotEqual(0, missingCode);
        Assert.Contains("SSL certificate", missingOutput);

        var directory = Directory.CreateTempSubdirectory("lmit-tls-");
        try
        {
            var key = Path.Combine(directory.FullName, "key.pem");
            var cert = Path.Combine(directory.FullName, "cert.pem");
            using (var openssl = Process.Start(new ProcessStartInfo("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
                       "-keyout", key, "-out", cert]) { RedirectStandardError = true, UseShellExecute = false })!)
            {
                await openssl.StandardError.ReadToEndAsync();
                await openssl.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(0, openssl.ExitCode);
            }
            var pem = Path.Combine(directory.FullName, "logs.pem");
            await File.WriteAllTextAsync(pem, await File.ReadAllTextAsync(cert) + await File.ReadAllTextAsync(key));
            var (tlsCode, tls) = await CheckAsync($"127.0.0.1:{port} ssl crt {pem}");
            Assert.True(tlsCode == 0, tls);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
