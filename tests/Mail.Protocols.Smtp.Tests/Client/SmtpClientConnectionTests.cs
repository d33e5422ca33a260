using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Client;

namespace Mail.Protocols.Smtp.Tests.Client;

/// <summary>The sending side against our own server over loopback: STARTTLS, PIPELINING, BDAT or DATA, per-recipient results.</summary>
public class SmtpClientConnectionTests
{
    private static async Task<MailHost> HostAsync()
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ServerName = "mx.example.test" };
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
