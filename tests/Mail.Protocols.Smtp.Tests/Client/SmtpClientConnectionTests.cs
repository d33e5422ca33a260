using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Hosting;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Client;

namespace Mail.Protocols.Smtp.Tests.Client;

/// <summary>The sending side against our own server over loopback: STARTTLS, PIPELINING, BDAT or DATA, per-recipient results.</summary>
public class SmtpClientConnectionTests
{
    private static async Task<MailHost> HostAsync()
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx.example.test" };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.Users.Add(("bob@example.test", "bob"));
        var host = new MailHost(options);
        await host.StartAsync();
        return host;
    }

    private static readonly byte[] s_message = Encoding.ASCII.GetBytes("From: a@example.org\r\nSubject: relayed\r\n\r\n.starts with a dot\r\n.\r\nend\r\n");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Sends_over_starttls_with_per_recipient_results(bool seekable)
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test", new SmtpClientOptions { LocalName = "relay.example.org" });
        Assert.True(client.IsSecure);
        Assert.True(client.Supports("PIPELINING"));
        var envelope = new QueueEnvelope("a@example.org",
            [new QueueRecipient("alice@example.test"), new QueueRecipient("nobody@example.test"), new QueueRecipient("bob@example.test")],
            DateTimeOffset.UtcNow);
        // A non-seekable stream has no known size: DATA with dot-stuffing instead of BDAT.
        Stream content = seekable ? new MemoryStream(s_message) : new NonSeekable(s_message);
        var results = await client.SendAsync(envelope, content);
        Assert.Equal(250, results[0].Reply.Code);
        Assert.Equal(550, results[1].Reply.Code);
        Assert.Equal(250, results[2].Reply.Code);
        Assert.StartsWith("2.0.0 ", results[0].Reply.Lines[0]);
        await client.QuitAsync();

        foreach (var user in new[] { "alice@example.test", "bob@example.test" })
        {
            var stored = Assert.Single(await host.Store.ListMessagesAsync(user, "INBOX"));
            await using var stream = await host.Store.OpenContentAsync(user, "INBOX", stored.Uid);
            var text = await new StreamReader(stream, Encoding.ASCII).ReadToEndAsync();
            Assert.EndsWith(Encoding.ASCII.GetString(s_message), text);
            Assert.Contains("with ESMTPS", text);
        }
    }

    [Fact]
    public async Task A_message_over_the_servers_size_is_refused_without_sending()
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test");
        Assert.Equal(50L * 1024 * 1024, client.MaxSize);
        var big = new FakeLengthStream(60L * 1024 * 1024);
        var results = await client.SendAsync(new QueueEnvelope("a@example.org", [new QueueRecipient("alice@example.test")], DateTimeOffset.UtcNow), big);
        Assert.Equal(552, results[0].Reply.Code);
        Assert.Equal(0, big.Reads);
    }

    [Fact]
    public async Task All_recipients_refused_resets_and_the_connection_stays_usable()
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test", new SmtpClientOptions { StartTls = StartTlsPolicy.Never });
        Assert.False(client.IsSecure);
        var refused = await client.SendAsync(new QueueEnvelope("a@example.org", [new QueueRecipient("x@elsewhere.test")], DateTimeOffset.UtcNow), new MemoryStream(s_message));
        Assert.Equal(554, refused[0].Reply.Code);
        var ok = await client.SendAsync(new QueueEnvelope("a@example.org", [new QueueRecipient("alice@example.test", DsnNotify.Failure, "rfc822;alice@example.test")], DateTimeOffset.UtcNow, EnvelopeId: "id+2B1"), new MemoryStream(s_message));
        Assert.Equal(250, ok[0].Reply.Code);
        Assert.Single(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
    }

    // A recipient that smuggles a second RCPT (or a parameter) into the command line must not reach the wire.
    [Theory]
    [InlineData("nobody@example.test>\r\nRCPT TO:<alice@example.test")]
    [InlineData("nobody@example.test>\nRCPT TO:<alice@example.test")]
    [InlineData("nobody@example.test>\rRCPT TO:<alice@example.test")]
    [InlineData("nobody@example.test> NOTIFY=NEVER")]
    [InlineData("alice\0@example.test")]
    [InlineData("alice@example.test\t")]
    [InlineData("alice@")]
    [InlineData("")]
    public async Task A_forward_path_that_is_not_an_rfc5321_mailbox_is_refused_and_never_written(string forwardPath)
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test");
        var envelope = new QueueEnvelope("a@example.org", [new QueueRecipient(forwardPath), new QueueRecipient("bob@example.test")], DateTimeOffset.UtcNow);

        var results = await client.SendAsync(envelope, new MemoryStream(s_message));

        Assert.Equal("553 5.1.3 the recipient address is not a valid RFC 5321 mailbox; not sent", results[0].Reply.ToString());
        Assert.Equal(250, results[1].Reply.Code);
        Assert.Empty(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Single(await host.Store.ListMessagesAsync("bob@example.test", "INBOX"));
    }

    [Theory]
    [InlineData("a@example.org>\r\nRCPT TO:<alice@example.test")]
    [InlineData("a@example.org> SMTPUTF8")]
    [InlineData("a b@example.org")]
    [InlineData("<a@example.org>")]
    public async Task A_reverse_path_that_is_not_an_rfc5321_mailbox_fails_the_whole_message_before_anything_is_sent(string reversePath)
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test");
        var envelope = new QueueEnvelope(reversePath, [new QueueRecipient("bob@example.test")], DateTimeOffset.UtcNow);

        var results = await client.SendAsync(envelope, new MemoryStream(s_message));

        Assert.Equal("553 5.1.7 the sender address is not a valid RFC 5321 mailbox; not sent", Assert.Single(results).Reply.ToString());
        Assert.Empty(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Empty(await host.Store.ListMessagesAsync("bob@example.test", "INBOX"));
        // Nothing of the refused transaction reached the server: the session is still clean for the next one.
        var ok = await client.SendAsync(envelope with { ReversePath = "a@example.org" }, new MemoryStream(s_message));
        Assert.Equal(250, Assert.Single(ok).Reply.Code);
    }

    [Theory]
    [InlineData("id\r\nRCPT TO:<alice@example.test>", null)]
    [InlineData("id NOTIFY=NEVER", null)]
    [InlineData("id=1", null)]
    [InlineData(null, "rfc822;bob@example.test\r\nRCPT TO:<alice@example.test>")]
    [InlineData(null, "rfc822;bob@example.test NOTIFY=NEVER")]
    [InlineData(null, "rfc822bob@example.test")]
    [InlineData(null, "rfc 822;bob@example.test")]
    public async Task Dsn_parameters_that_are_not_xtext_are_refused_before_anything_is_sent(string? envelopeId, string? originalRecipient)
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test");
        Assert.True(client.Supports("DSN"));
        var envelope = new QueueEnvelope("a@example.org", [new QueueRecipient("bob@example.test", DsnNotify.Failure, originalRecipient)], DateTimeOffset.UtcNow, envelopeId);

        var results = await client.SendAsync(envelope, new MemoryStream(s_message));

        Assert.Equal(envelopeId is not null ? "501 5.5.4 the ENVID parameter is not valid xtext; not sent" : "501 5.5.4 the ORCPT parameter is not a valid addr-type;xtext; not sent",
            Assert.Single(results).Reply.ToString());
        Assert.Empty(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Empty(await host.Store.ListMessagesAsync("bob@example.test", "INBOX"));
    }

    [Theory]
    [InlineData("relay.example.org\r\nMAIL FROM:<x@example.org>")]
    [InlineData("relay example.org")]
    [InlineData("")]
    [InlineData("-relay.example.org")]
    public async Task An_ehlo_name_that_is_not_a_domain_or_address_literal_is_refused_before_connecting(string localName)
    {
        await using var host = await HostAsync();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test", new SmtpClientOptions { LocalName = localName }));
        Assert.Equal("options", error.ParamName);
    }

    [Theory]
    [InlineData("[127.0.0.1]")]
    [InlineData("[IPv6:::1]")]
    [InlineData("relay.example.org")]
    public async Task An_address_literal_or_domain_is_a_valid_ehlo_name(string localName)
    {
        await using var host = await HostAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(host.EndPoints["smtp"], "mx.example.test", new SmtpClientOptions { LocalName = localName });
        Assert.True(client.Supports("PIPELINING"));
    }

    [Fact]
    public async Task Credentials_go_only_to_a_server_whose_certificate_validates_unless_the_application_decides()
    {
        using var certificate = SelfSignedCertificate.Create("smart.example.test");
        await using var server = new RecordingSmtpServer(certificate);
        var credentials = new NetworkCredential("alice@example.test", "secret");

        // Validation is not optional once there are credentials, whatever ValidateCertificate says.
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() =>
            SmtpClientConnection.ConnectAsync(server.EndPoint, "127.0.0.1", new SmtpClientOptions { Credentials = credentials, ValidateCertificate = false }));
        Assert.Equal("the TLS certificate of 127.0.0.1 is not trusted (RemoteCertificateChainErrors); no credentials were sent", refused.Message);
        Assert.Contains("STARTTLS", server.Transcript);
        Assert.DoesNotContain(server.Transcript, line => line.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));

        // The documented way out for a test setup: the application's own callback decides, and sees what failed.
        SslPolicyErrors? seen = null;
        var options = new SmtpClientOptions
        {
            Credentials = credentials,
            CertificateValidation = (_, _, _, errors) =>
            {
                seen = errors;
                return true;
            },
        };
        await using (var client = await SmtpClientConnection.ConnectAsync(server.EndPoint, "127.0.0.1", options))
        {
            Assert.True(client.IsSecure);
            await client.QuitAsync();
        }
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, seen);
        Assert.Contains(server.Transcript, line => line.StartsWith("AUTH PLAIN ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_credentials_opportunistic_tls_still_encrypts_to_an_untrusted_server()
    {
        using var certificate = SelfSignedCertificate.Create("mx.example.test");
        await using var server = new RecordingSmtpServer(certificate);
        await using var client = await SmtpClientConnection.ConnectAsync(server.EndPoint, "127.0.0.1");
        Assert.True(client.IsSecure);
    }

    [Theory]
    [InlineData("alice@example.test\0admin", "secret")]
    [InlineData("alice@example.test", "sec\0ret")]
    public async Task Credentials_with_a_nul_are_refused_before_connecting(string user, string password)
    {
        using var certificate = SelfSignedCertificate.Create("smart.example.test");
        await using var server = new RecordingSmtpServer(certificate);
        var options = new SmtpClientOptions { Credentials = new NetworkCredential(user, password), TrustedCertificates = { certificate } };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SmtpClientConnection.ConnectAsync(server.EndPoint, "127.0.0.1", options));
        Assert.Equal("options", error.ParamName);
        Assert.Empty(server.Transcript);
    }

    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    private sealed class FakeLengthStream(long length) : Stream
    {
        public int Reads;
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get; set; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            Reads++;
            return 0;
        }
        public override long Seek(long offset, SeekOrigin origin) => Position = offset;
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
