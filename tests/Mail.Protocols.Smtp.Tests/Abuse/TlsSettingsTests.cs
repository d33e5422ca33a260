using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Mail.Protocols.Connections;
using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// The TLS every server negotiates (implicit TLS and STARTTLS/STLS share <see cref="MailTlsOptions"/>): the protocol
/// versions are the platform's secure default (TLS 1.2 and 1.3; a client that insists on TLS 1.0 or 1.1 fails the
/// handshake) and renegotiation is refused.
/// </summary>
public sealed class TlsSettingsTests
{
    [Fact]
    public void Server_options_leave_the_versions_to_the_platform_and_refuse_renegotiation()
    {
        using var certificate = SelfSignedCertificate.Create("localhost");
        var options = new MailTlsOptions(certificate).CreateServerOptions();
        Assert.Equal(SslProtocols.None, options.EnabledSslProtocols);
        Assert.False(options.AllowRenegotiation);
        Assert.False(options.ClientCertificateRequired);
    }

    private static async Task<SslStream> HandshakeAsync(InteropHost host, SslProtocols protocols, CancellationToken ct)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(host.Smtps, ct);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocols,
                RemoteCertificateValidationCallback = PinnedCertificate.Callback(host.Host.Certificate),
            }, ct);
        }
        catch
        {
            await ssl.DisposeAsync();
            tcp.Dispose();
            throw;
        }
        return ssl;
    }

    [Theory]
    [InlineData(SslProtocols.None)]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Client_offering_tls_1_2_or_1_3_completes_the_handshake(SslProtocols offered)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var ssl = await HandshakeAsync(host, offered, ct);
        Assert.True(ssl.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13, ssl.SslProtocol.ToString());
        if (offered != SslProtocols.None)
        {
            Assert.Equal(offered, ssl.SslProtocol);
        }
    }

#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1 are obsolete: that is the point of the test
    [Theory]
    [InlineData(SslProtocols.Tls)]
    [InlineData(SslProtocols.Tls11)]
    [InlineData(SslProtocols.Tls | SslProtocols.Tls11)]
    public async Task Client_forcing_tls_1_0_or_1_1_fails_the_handshake(SslProtocols offered)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await Assert.ThrowsAnyAsync<Exception>(async () => await (await HandshakeAsync(host, offered, ct)).DisposeAsync());
        // The server is unharmed: the next client gets its greeting over TLS.
        await using var ssl = await HandshakeAsync(host, SslProtocols.None, ct);
        var greeting = new byte[256];
        var n = await ssl.ReadAsync(greeting, ct);
        Assert.StartsWith("220 ", System.Text.Encoding.ASCII.GetString(greeting, 0, n), StringComparison.Ordinal);
    }
#pragma warning restore SYSLIB0039
}

/// <summary>
/// A client-initiated TLS 1.2 renegotiation, made with openssl s_client's "R" command (.NET has no client API for it):
/// the server refuses it and the connection ends; the command sent after it is never answered. (TLS 1.3 has no
/// renegotiation at all.)
/// </summary>
public sealed class TlsRenegotiationTests
{
    [Fact]
    public async Task Client_initiated_renegotiation_is_refused_and_ends_the_connection()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var start = new System.Diagnostics.ProcessStartInfo("openssl", $"s_client -connect 127.0.0.1:{host.Smtps.Port} -tls1_2 -no_ticket")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var openssl = System.Diagnostics.Process.Start(start)!;
        try
        {
            var stderr = openssl.StandardError.ReadToEndAsync(ct);
            string? line;
            while ((line = await openssl.StandardOutput.ReadLineAsync(ct)) is not null && !line.StartsWith("220 ", StringComparison.Ordinal))
            {
            }
            Assert.NotNull(line); // greeted over TLS 1.2
            await openssl.StandardInput.WriteAsync("R\nNOOP\r\n".AsMemory(), ct); // "R" at a line start: renegotiate
            await openssl.StandardInput.FlushAsync(ct);
            // Without renegotiation the server ends the connection and s_client exits; NOOP is never answered.
            // (Had it renegotiated, NOOP's 250 would come and the connection stay open.)
            while ((line = await openssl.StandardOutput.ReadLineAsync(ct)) is not null)
            {
                Assert.False(line.StartsWith("250 ", StringComparison.Ordinal), "NOOP was answered after the renegotiation: " + line);
            }
            await openssl.WaitForExitAsync(ct);
            Assert.Contains("RENEGOTIATING", await stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (!openssl.HasExited)
            {
                openssl.Kill();
            }
        }
    }
}
