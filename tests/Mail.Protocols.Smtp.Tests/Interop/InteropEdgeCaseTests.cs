using System.Net;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Queue;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>Interop beyond the happy path: odd credentials, several messages per connection, limits, timeouts, shutdown.</summary>
public sealed class InteropEdgeCaseTests
{
    public static TheoryData<string, string, string> UnusualCredentials => new()
    {
        // A UTF-8 login and password.
        { "PLAIN", "jörg@example.test", "pässwörd" },
        { "LOGIN", "jörg@example.test", "pässwörd" },
        { "CRAM-MD5", "jörg@example.test", "pässwörd" },
        { "SCRAM-SHA-256", "jörg@example.test", "pässwörd" },
        // SCRAM escapes '=' and ',' in the user name as =3D and =2C.
        { "SCRAM-SHA-256", "x=y@example.test", "p,w=1 with spaces" },
        { "PLAIN", "x=y@example.test", "p,w=1 with spaces" },
        // NFKC-equivalent spellings (a ligature) are equal under SASLprep.
        { "SCRAM-SHA-256", "bob2@example.test", "ﬁne" },
        // SASLprep (RFC 4013 §2.1) maps U+00AD SOFT HYPHEN to nothing; MailKit prepares the password, so must the server.
        { "PLAIN", "carl@example.test", "pass\u00ADword" },
        { "SCRAM-SHA-256", "carl@example.test", "pass\u00ADword" },
    };

    [Theory]
    [MemberData(nameof(UnusualCredentials))]
    public async Task Unusual_credentials_authenticate_and_submit(string mechanism, string login, string password)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        host.Host.Users.AddUser(login, password);
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);

        try
        {
            await client.AuthenticateAsync(Build.Mechanism(mechanism, new NetworkCredential(login, password)), ct);
        }
        catch (AuthenticationException ex)
        {
            Assert.Fail($"{mechanism} as {login} failed: {ex.Message}\nTranscript:\n{log.Transcript}");
        }
        var message = Build.TextMessage(login, ["bob@example.test"], "Credentials " + mechanism, "hello\r\n");
        var expected = Wire.Bytes(message, international: true);
        await client.SendAsync(Wire.SmtpFormat(international: true), message, ct);
        await client.DisconnectAsync(true, ct);
        var stored = Assert.Single(await host.InboxAsync("bob@example.test"));
        Wire.AssertSameBytes(expected, Wire.SplitReceived(stored).Body);
    }

    [Fact]
    public async Task Several_messages_on_one_connection_mixing_DATA_BDAT_and_SMTPUTF8()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        host.Host.Users.AddUser("jörg@example.test", "pw");
        var log = new TranscriptLogger();
        using var client = new ConfigurableSmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);

        var first = Build.TextMessage("a@example.org", ["alice@example.test"], "first (DATA)", "one\r\n.\r\n");
        var firstBytes = Wire.Bytes(first);
        await client.SendAsync(first, ct);

        client.PreferBdat = true;
        var second = Build.TextMessage("a@example.org", ["bob@example.test", "alice@example.test"], "second (BDAT)", "two\r\n.\r\n");
        var secondBytes = Wire.Bytes(second);
        await client.SendAsync(second, ct);
        client.PreferBdat = false;

        var third = Build.TextMessage("jörg@example.test", ["jörg@example.test"], "drittens", "drei ü\r\n", ContentEncoding.EightBit);
        var thirdBytes = Wire.Bytes(third, international: true);
        await client.SendAsync(Wire.SmtpFormat(international: true), third, ct);

        // After an SMTPUTF8 transaction, a plain one must not inherit SMTPUTF8 (nor a UTF-8 address be allowed).
        var fourth = Build.TextMessage("a@example.org", ["bob@example.test"], "fourth (plain again)", "four\r\n");
        var fourthBytes = Wire.Bytes(fourth);
        await client.SendAsync(fourth, ct);
        await client.DisconnectAsync(true, ct);

        var alice = await host.InboxAsync("alice@example.test");
        Assert.Equal(2, alice.Count);
        Wire.AssertSameBytes(firstBytes, Wire.SplitReceived(alice[0]).Body);
        Wire.AssertSameBytes(secondBytes, Wire.SplitReceived(alice[1]).Body);
        var bob = await host.InboxAsync("bob@example.test");
        Assert.Equal(2, bob.Count);
        Wire.AssertSameBytes(secondBytes, Wire.SplitReceived(bob[0]).Body);
        var (fourthReceived, fourthBody) = Wire.SplitReceived(bob[1]);
        Wire.AssertSameBytes(fourthBytes, fourthBody);
        Assert.Contains(" with ESMTP id ", fourthReceived, StringComparison.Ordinal);
        var (thirdReceived, thirdBody) = Wire.SplitReceived(Assert.Single(await host.InboxAsync("jörg@example.test")));
        Wire.AssertSameBytes(thirdBytes, thirdBody);
        Assert.Contains(" with UTF8SMTP id ", thirdReceived, StringComparison.Ordinal);
        Assert.Equal(4, log.Transcript.Split('\n').Count(l => l.StartsWith("S: 250 2.0.0 ", StringComparison.Ordinal) && l.EndsWith("Message accepted for delivery", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Dot_heavy_body_survives_DATA_across_many_reads()
    {
        var ct = Wire.Timeout(120);
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);

        // ~6 MB of lines of every length from 0 to 997, most starting with one or more dots, so stuffed dots,
        // CR, LF and the would-be terminator fall on every possible read boundary.
        var body = new StringBuilder();
        var random = new Random(7);
        while (body.Length < 6_000_000)
        {
            var length = random.Next(0, 998);
            var dots = random.Next(0, 4);
            body.Append('.', Math.Min(dots, length));
            for (var i = dots; i < length; i++)
            {
                body.Append((char)random.Next(33, 127));
            }
            body.Append("\r\n");
        }
        var message = Build.TextMessage("a@example.org", ["alice@example.test"], "dots", body.ToString());
        var expected = Wire.Bytes(message);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        var stored = Assert.Single(await host.InboxAsync("alice@example.test", ct));
        Wire.AssertSameBytes(expected, Wire.SplitReceived(stored).Body);
    }

    [Fact]
    public async Task Oversized_messages_are_refused_with_552_and_the_session_continues()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.Smtp.MaxMessageSize = 10_000);
        var big = new string('x', 70) + "\r\n";
        var bigBody = string.Concat(Enumerable.Repeat(big, 200)); // ~14 KB

        // MailKit declares SIZE, so MAIL itself is refused.
        var log = new TranscriptLogger();
        using (var client = new SmtpClient(log))
        {
            await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
            Assert.Equal(10_000u, client.MaxSize);
            var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Build.TextMessage("a@example.org", ["alice@example.test"], "big", bigBody), ct));
            Assert.Equal(552, (int)ex.StatusCode);
            Assert.Contains("S: 552 5.3.4 Message size exceeds fixed maximum message size", log.Transcript, StringComparison.Ordinal);
            // A message under the limit still goes through on the same connection.
            await client.SendAsync(Build.TextMessage("a@example.org", ["alice@example.test"], "small", "small\r\n"), ct);
            await client.DisconnectAsync(true, ct);
        }

        // Without SIZE the limit is enforced on the octets received, for DATA and for BDAT.
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        await c.ReadReplyAsync(ct);
        await c.WriteAsync("EHLO x\r\n", ct);
        await c.ReadReplyAsync(ct);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: big\r\n\r\n" + bigBody + ".\r\n", ct);
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", await c.ReadSingleLineReplyAsync(ct));

        var chunk = Encoding.ASCII.GetBytes("Subject: big\r\n\r\n" + bigBody);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length} LAST\r\n"), .. chunk, .. "NOOP\r\n"u8], ct);
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct)); // the chunk was drained, the stream is in step

        var stored = Assert.Single(await host.InboxAsync("alice@example.test"));
        Assert.Contains("Subject: small", Encoding.ASCII.GetString(stored), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_pipelined_after_STARTTLS_in_plaintext_are_discarded()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await RawSmtpConnection.ConnectAsync(host.Submission, ct);
        await c.ReadReplyAsync(ct);
        await c.WriteAsync("EHLO x\r\n", ct);
        await c.ReadReplyAsync(ct);
        // CVE-2011-0411 shape: a command injected after STARTTLS in the same plaintext packet.
        await c.WriteAsync("STARTTLS\r\nRSET\r\n", ct);
        Assert.Equal("220 2.0.0 Ready to start TLS", await c.ReadSingleLineReplyAsync(ct));
        await c.StartTlsAsync(host.Host.Certificate, ct);
        // Had RSET been executed after the handshake, its 250 would come first; the first reply must be EHLO's.
        await c.WriteAsync("EHLO y\r\n", ct);
        var ehlo = await c.ReadReplyAsync(ct);
        Assert.StartsWith($"250-{InteropHost.ServerName} greets y", ehlo[0], StringComparison.Ordinal);
        Assert.Contains("250-AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", ehlo);
        Assert.DoesNotContain(ehlo, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        await c.WriteAsync("STARTTLS\r\n", ct);
        Assert.Equal("503 5.5.1 TLS already active", await c.ReadSingleLineReplyAsync(ct));
        // PLAIN with an initial response, raw.
        var initial = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0alice"));
        await c.WriteAsync($"AUTH PLAIN {initial}\r\n", ct);
        Assert.Equal("235 2.7.0 Authentication successful", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("AUTH PLAIN\r\n", ct);
        Assert.Equal("503 5.5.1 Already authenticated", await c.ReadSingleLineReplyAsync(ct));
    }

    [Fact]
    public async Task Idle_client_gets_421_timeout_and_is_disconnected()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.Smtp.IdleTimeout = TimeSpan.FromMilliseconds(300));
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        Assert.Equal($"421 4.4.2 {InteropHost.ServerName} Error: timeout exceeded", await c.ReadLineAsync(ct));
        Assert.Null(await c.ReadLineAsync(ct));
    }

    [Fact]
    public async Task Graceful_stop_finishes_the_message_in_flight_then_says_421()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var busy = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        await using var idle = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        foreach (var c in new[] { busy, idle })
        {
            await c.ReadReplyAsync(ct);
            await c.WriteAsync("EHLO x\r\n", ct);
            await c.ReadReplyAsync(ct);
        }
        await busy.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n", ct);
        await busy.ReadSingleLineReplyAsync(ct);
        await busy.ReadSingleLineReplyAsync(ct);
        Assert.StartsWith("354 ", await busy.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await busy.WriteAsync("Subject: in flight\r\n\r\nfirst half\r\n", ct);

        var stop = host.Host.StopAsync(TimeSpan.FromSeconds(20));
        // The idle session is told right away.
        Assert.Equal($"421 4.3.2 {InteropHost.ServerName} Service shutting down", await idle.ReadLineAsync(ct));
        Assert.Null(await idle.ReadLineAsync(ct));
        Assert.False(stop.IsCompleted, "StopAsync returned while a message was still being received");

        await busy.WriteAsync("second half\r\n.\r\n", ct);
        Assert.Matches(@"^250 2\.0\.0 \S+ Message accepted for delivery$", await busy.ReadLineAsync(ct));
        Assert.Equal($"421 4.3.2 {InteropHost.ServerName} Service shutting down", await busy.ReadLineAsync(ct));
        Assert.Null(await busy.ReadLineAsync(ct));
        await stop.WaitAsync(ct);

        var stored = Assert.Single(await host.InboxAsync("alice@example.test"));
        Assert.Equal("Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n", Encoding.ASCII.GetString(Wire.SplitReceived(stored).Body));
    }

    [Fact]
    public async Task Overlong_command_line_and_repeated_errors_are_answered_then_the_session_is_closed()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        await c.ReadReplyAsync(ct);
        await c.WriteAsync("NOOP " + new string('x', 5000) + "\r\n", ct);
        Assert.Equal("500 5.5.6 Line too long", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("NOOP\r\n", ct);
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync(string.Concat(Enumerable.Repeat("BOGUS\r\n", 10)), ct);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("500 5.5.2 Syntax error, command unrecognized", await c.ReadSingleLineReplyAsync(ct));
        }
        Assert.Equal($"421 4.7.0 {InteropHost.ServerName} Error: too many errors", await c.ReadLineAsync(ct));
        Assert.Null(await c.ReadLineAsync(ct));
    }

    [Fact]
    public async Task Null_reverse_path_bounce_is_accepted_and_relayed_utf8_recipient_keeps_DSN_parameters()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        host.Host.Users.AddUser("jörg@example.test", "pw");

        // A bounce (MAIL FROM:<>) to a local user over the MX.
        await using (var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct))
        {
            await c.ReadReplyAsync(ct);
            await c.WriteAsync("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n", ct);
            await c.ReadReplyAsync(ct);
            Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
            Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
            Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("Subject: bounce\r\n\r\nreturned\r\n.\r\n", ct);
            Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        }
        Assert.Single(await host.InboxAsync("bob@example.test"));

        // MailKit hex-encodes the UTF-8 ORCPT as xtext; NOTIFY=NEVER alone.
        var log = new TranscriptLogger();
        using var client = new ConfigurableSmtpClient(log) { Notify = DeliveryStatusNotification.Never, EnvelopeId = "a+b=c" };
        await host.ConnectAsync(client, host.Smtps, SecureSocketOptions.SslOnConnect, ct);
        await client.AuthenticateAsync("jörg@example.test", "pw", ct);
        var message = Build.TextMessage("jörg@example.test", ["zoë@elsewhere.test"], "utf-8 relay", "hi\r\n");
        await client.SendAsync(Wire.SmtpFormat(international: true), message, ct);
        await client.DisconnectAsync(true, ct);
        Assert.Contains(" ENVID=a+2Bb+3Dc", log.Transcript, StringComparison.Ordinal);

        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.True(lease.Envelope.SmtpUtf8);
        Assert.Equal("a+2Bb+3Dc", lease.Envelope.EnvelopeId); // kept as the xtext it arrived in
        var recipient = Assert.Single(lease.Envelope.Recipients);
        Assert.Equal("zoë@elsewhere.test", recipient.Address);
        Assert.Equal(DsnNotify.Never, recipient.Notify);
        Assert.Equal("rfc822;zo+C3+AB@elsewhere.test", recipient.OriginalRecipient);
    }
}
