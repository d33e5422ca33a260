using System.Net;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Connections;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>What MailHostOptions sets besides the default policy's domains and users: trusted networks and a certificate selector.</summary>
public sealed class MailHostRelayAndTlsTests
{
    private static MailHostOptions Options()
    {
        var options = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null,
            ServerName = "mx.example.test",
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        return options;
    }

    private static MimeMessage ToOtherDomain()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@example.test"));
        message.To.Add(MailboxAddress.Parse("bob@remote.example"));
        message.Subject = "relayed";
        message.Body = new TextPart("plain") { Text = "from a trusted network" };
        return message;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_on_a_trusted_network_relays_without_logging_in_and_any_other_is_refused(bool trusted)
    {
        var options = Options();
        if (trusted)
        {
            options.TrustedNetworks.Add(IPNetwork.Parse("127.0.0.0/8"));
        }
        await using var host = new MailHost(options);
        await host.StartAsync();
        using var client = new SmtpClient();
        var smtp = host.EndPoints["smtp"];
        await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);

        if (trusted)
        {
            await client.SendAsync(ToOtherDomain());
            Assert.Equal(1, await host.Queue.CountAsync()); // queued for delivery to remote.example
        }
        else
        {
            var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(ToOtherDomain()));
            Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
            Assert.Equal(SmtpStatusCode.TransactionFailed, refused.StatusCode);
            Assert.Contains("Relay access denied", refused.Message, StringComparison.Ordinal);
            Assert.Equal(0, await host.Queue.CountAsync());
        }
        await client.DisconnectAsync(quit: true);
        await host.StopAsync();
    }

    [Fact]
    public void Trusted_networks_cannot_be_set_with_a_policy_of_the_applications_own()
    {
        var options = Options();
        options.Policy = new Policy.DefaultRecipientPolicy(new Policy.RecipientPolicyOptions(), new InMemory.InMemoryUserDirectory());
        options.TrustedNetworks.Add(IPNetwork.Parse("10.0.0.0/8"));
        var refused = Assert.Throws<ArgumentException>(() => new MailHost(options));
        Assert.Contains("TrustedNetworks", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_selector_chooses_the_certificate_by_the_name_the_client_asks_for()
    {
        using var mail = SelfSignedCertificate.Create("mail.example.test");
        using var other = SelfSignedCertificate.Create("mx.other.test");
        var selector = new ByName(new Dictionary<string, X509Certificate2> { ["mail.example.test"] = mail, ["mx.other.test"] = other }, mail);
        var options = Options();
        options.CertificateSelector = selector;
        await using var host = new MailHost(options);
        await host.StartAsync();
        Assert.Same(mail, host.Certificate); // the selector's choice for a client that names no host

        foreach (var (name, expected) in new[] { ("mail.example.test", mail), ("mx.other.test", other) })
        {
            string? seen = null;
            using var client = new SmtpClient();
            client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
            {
                seen = certificate?.GetCertHashString();
                return true;
            };
            var submission = host.EndPoints["submission"];
            // MailKit sends the host it connects to as the SNI name; the name resolves to the listener's loopback address.
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(submission);
            await client.ConnectAsync(socket, name, submission.Port, SecureSocketOptions.StartTls);
            Assert.True(client.IsSecure);
            Assert.Equal(expected.Thumbprint, seen);
            await client.DisconnectAsync(quit: true);
        }
        Assert.Contains("mail.example.test", selector.Asked);
        Assert.Contains("mx.other.test", selector.Asked);
        await host.StopAsync();
    }

    [Fact]
    public async Task The_host_disposes_only_the_certificate_it_made()
    {
        using var mine = SelfSignedCertificate.Create("mail.example.test");
        var options = Options();
        options.CertificateSelector = new ByName([], mine);
        var withSelector = new MailHost(options);
        await withSelector.DisposeAsync();
        Assert.NotEqual(IntPtr.Zero, mine.Handle); // the selector's certificate is the application's

        options = Options();
        options.Certificate = mine;
        var withCertificate = new MailHost(options);
        await withCertificate.DisposeAsync();
        Assert.NotEqual(IntPtr.Zero, mine.Handle);

        var selfSigned = new MailHost(Options());
        var made = selfSigned.Certificate;
        await selfSigned.DisposeAsync();
        Assert.Equal(IntPtr.Zero, made.Handle); // the one it generated goes with it
    }

    [Fact]
    public void A_certificate_and_a_selector_cannot_both_be_set()
    {
        using var certificate = SelfSignedCertificate.Create("mail.example.test");
        var options = Options();
        options.Certificate = certificate;
        options.CertificateSelector = new ByName([], certificate);
        var refused = Assert.Throws<ArgumentException>(() => new MailHost(options));
        Assert.Contains("CertificateSelector", refused.Message, StringComparison.Ordinal);
    }

    private sealed class ByName(Dictionary<string, X509Certificate2> certificates, X509Certificate2 fallback) : IServerCertificateSelector
    {
        public List<string?> Asked { get; } = [];

        public X509Certificate2 SelectCertificate(string? serverName)
        {
            lock (Asked)
            {
                Asked.Add(serverName);
            }
            return serverName is not null && certificates.TryGetValue(serverName, out var certificate) ? certificate : fallback;
        }
    }
}
