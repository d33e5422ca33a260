using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Queue;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// MailKit's SmtpClient against the real server over loopback sockets: what MailKit sends must arrive
/// byte for byte (after the Received header the server prepends), on every port and with every extension.
/// </summary>
public sealed partial class MailKitInteropTests
{
    [GeneratedRegex(@"^2\.0\.0 \S+ Message accepted for delivery$")]
    private static partial Regex AcceptedResponse();

    // Lines a naive DATA implementation gets wrong: a lone dot, leading dots, and an SMTP-looking line.
    private const string TrickyAsciiBody =
        "Hello Alice,\r\n"
        + ".\r\n"
        + "..two dots\r\n"
        + ".leading dot\r\n"
        + "\r\n"
        + "MAIL FROM:<not-a-command@example.org>\r\n"
        + "  indented line with trailing spaces   \r\n"
        + "Bye.\r\n";

    /// <summary>Asserts the single message in <paramref name="user"/>'s INBOX is exactly <paramref name="expected"/> after the Received header; returns that header.</summary>
    private static async Task<string> AssertSingleDeliveryAsync(InteropHost host, string user, byte[] expected, TranscriptLogger log)
    {
        var inbox = await host.InboxAsync(user);
        Assert.True(inbox.Count == 1, $"{user} has {inbox.Count} messages, expected 1. Transcript:\n{log.Transcript}");
        var (received, rest) = Wire.SplitReceived(inbox[0]);
        Wire.AssertSameBytes(expected, rest);
        return received;
    }

    [Fact]
    public async Task Plain_send_on_mx_is_stored_byte_for_byte_after_a_Received_header()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
        Assert.False(client.IsSecure);
        Assert.DoesNotContain("AUTH", log.Transcript, StringComparison.Ordinal); // no AUTH in plaintext by default

        var message = Build.TextMessage("sender@example.org", ["alice@example.test"], "Plain interop", TrickyAsciiBody);
        var expected = Wire.Bytes(message);
        var response = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        var received = await AssertSingleDeliveryAsync(host, "alice@example.test", expected, log);
        Assert.StartsWith($"Received: from {InteropHost.ClientName} ([127.0.0.1])\r\n\tby {InteropHost.ServerName} (Mail.Protocols) with ESMTP id ", received, StringComparison.Ordinal);
        Assert.Contains("\r\n\tfor <alice@example.test>;\r\n\t", received, StringComparison.Ordinal);
        // The queue id in the reply is the one in the trace header.
        var queueId = response.Split(' ')[1];
        Assert.Contains($" id {queueId}", received, StringComparison.Ordinal);
        Assert.Empty(await host.InboxAsync("bob@example.test"));
        Assert.Equal(0, await host.Host.Queue.CountAsync());
        Assert.Contains("S: 221 2.0.0 " + InteropHost.ServerName + " closing connection", log.Transcript, StringComparison.Ordinal);
    }

    public static TheoryData<string> Mechanisms => new() { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task Submission_with_StartTls_authenticates_with_each_mechanism_and_sends(string mechanism)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);

        Assert.True(client.IsSecure);
        var expectedCapabilities = SmtpCapabilities.Pipelining | SmtpCapabilities.Size | SmtpCapabilities.EightBitMime
            | SmtpCapabilities.BinaryMime | SmtpCapabilities.Chunking | SmtpCapabilities.EnhancedStatusCodes
            | SmtpCapabilities.Dsn | SmtpCapabilities.UTF8 | SmtpCapabilities.Authentication | SmtpCapabilities.StartTLS;
        Assert.Equal(expectedCapabilities, client.Capabilities & expectedCapabilities);
        Assert.Equal(50u * 1024 * 1024, client.MaxSize);
        Assert.Equal(["CRAM-MD5", "LOGIN", "PLAIN", "SCRAM-SHA-256"], client.AuthenticationMechanisms.Order(StringComparer.Ordinal));
        // Before STARTTLS the same server offered no AUTH.
        var beforeTls = log.Transcript[..log.Transcript.IndexOf("C: STARTTLS", StringComparison.Ordinal)];
        Assert.DoesNotContain("AUTH", beforeTls, StringComparison.Ordinal);
        Assert.Contains("250-STARTTLS", beforeTls, StringComparison.Ordinal);

        await client.AuthenticateAsync(Build.Mechanism(mechanism, new NetworkCredential("alice@example.test", "alice")), ct);
        Assert.True(client.IsAuthenticated);
        Assert.Contains("C: AUTH " + mechanism, log.Transcript, StringComparison.Ordinal);
        Assert.Contains("S: 235 2.7.0 Authentication successful", log.Transcript, StringComparison.Ordinal);

        await SubmitToBobAndAssertDeliveredAsync(client, host, log, "Submitted with " + mechanism, ct);
    }

    [Fact]
    public async Task Implicit_tls_on_smtps_authenticates_and_sends()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Smtps, SecureSocketOptions.SslOnConnect, ct);
        Assert.True(client.IsSecure);
        Assert.True(client.IsEncrypted);
        Assert.DoesNotContain("STARTTLS", log.Transcript, StringComparison.Ordinal); // already TLS: not offered again
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Authentication));

        // MailKit picks the strongest offered mechanism by itself (SCRAM-SHA-256).
        await client.AuthenticateAsync("alice@example.test", "alice", ct);
        Assert.Contains("C: AUTH SCRAM-SHA-256", log.Transcript, StringComparison.Ordinal);

        await SubmitToBobAndAssertDeliveredAsync(client, host, log, "Over implicit TLS", ct);
    }

    [Fact]
    public async Task Wrong_password_throws_AuthenticationException_and_mail_stays_refused()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);

        await Assert.ThrowsAsync<AuthenticationException>(() =>
            client.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "not-alice"), ct));
        await Assert.ThrowsAsync<AuthenticationException>(() =>
            client.AuthenticateAsync(new SaslMechanismScramSha256("alice@example.test", "not-alice"), ct));
        await Assert.ThrowsAsync<AuthenticationException>(() =>
            client.AuthenticateAsync(new SaslMechanismCramMd5("nobody@example.test", "alice"), ct));
        Assert.False(client.IsAuthenticated);
        Assert.Contains("S: 535 5.7.8 ", log.Transcript, StringComparison.Ordinal);
        Assert.True(client.IsConnected);

        // Submission still refuses MAIL: MailKit maps the 530 to ServiceNotAuthenticatedException.
        var message = Build.TextMessage("alice@example.test", ["bob@example.test"], "Should not arrive", "nope\r\n");
        await Assert.ThrowsAsync<ServiceNotAuthenticatedException>(() => client.SendAsync(message, ct));
        Assert.Contains("S: 530 5.7.0 Authentication required", log.Transcript, StringComparison.Ordinal);
        Assert.Empty(await host.InboxAsync("bob@example.test"));
        Assert.Equal(0, await host.Host.Queue.CountAsync());

        // The session survived the failures: the right password still works on the same connection.
        await client.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice"), ct);
        await client.SendAsync(Build.TextMessage("alice@example.test", ["bob@example.test"], "After a retry", "ok\r\n"), ct);
        await client.DisconnectAsync(true, ct);
        Assert.Single(await host.InboxAsync("bob@example.test"));
    }

    [Fact]
    public async Task Submission_without_StartTls_offers_no_AUTH_and_refuses_MAIL()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.None, ct);
        Assert.Empty(client.AuthenticationMechanisms);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));

        var message = Build.TextMessage("alice@example.test", ["bob@example.test"], "Plaintext submission", "nope\r\n");
        await Assert.ThrowsAsync<ServiceNotAuthenticatedException>(() => client.SendAsync(message, ct));
        Assert.Contains("S: 530 5.7.0 Must issue a STARTTLS command first", log.Transcript, StringComparison.Ordinal);
        Assert.Empty(await host.InboxAsync("bob@example.test"));
    }

    [Fact]
    public async Task Pipelined_envelope_with_three_recipients_delivers_one_copy_per_user()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));

        var message = Build.TextMessage("sender@example.org", ["alice@example.test", "bob@example.test", "postmaster@example.test"], "Three recipients", TrickyAsciiBody);
        var expected = Wire.Bytes(message);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        // MailKit sent MAIL and the three RCPTs in one write, and every command was answered in order.
        var batch = Assert.Single(log.ClientWrites, w => w.StartsWith("MAIL FROM:", StringComparison.Ordinal));
        Assert.Equal(
            ["MAIL FROM:<sender@example.org>", "RCPT TO:<alice@example.test>", "RCPT TO:<bob@example.test>", "RCPT TO:<postmaster@example.test>"],
            batch.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0] + " " + l.Split(' ')[1]));
        var transcript = log.Transcript;
        var replies = transcript[transcript.IndexOf("C: MAIL FROM", StringComparison.Ordinal)..].Split('\n').Where(l => l.StartsWith("S: ", StringComparison.Ordinal)).Take(5).ToArray();
        Assert.Equal(["S: 250 2.1.0 Sender ok", "S: 250 2.1.5 Recipient ok", "S: 250 2.1.5 Recipient ok", "S: 250 2.1.5 Recipient ok", "S: 354 Enter mail, end with \".\" on a line by itself"], replies);

        // postmaster@ belongs to alice (the first user): alice gets one copy, not two.
        var aliceReceived = await AssertSingleDeliveryAsync(host, "alice@example.test", expected, log);
        await AssertSingleDeliveryAsync(host, "bob@example.test", expected, log);
        Assert.DoesNotContain("\tfor <", aliceReceived, StringComparison.Ordinal); // several recipients: no "for" clause
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }

    [Fact]
    public async Task Binary_part_is_sent_with_BDAT_and_BINARYMIME_and_stored_intact()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync("alice@example.test", "alice", ct);

        // Every octet value, bare CR and LF, NUL, and what would end DATA: only BDAT can carry this.
        var payload = new byte[4096 + 256];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 7);
        }
        "\r\n.\r\n"u8.CopyTo(payload.AsSpan(100));
        "\n.\n\r"u8.CopyTo(payload.AsSpan(200));
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@example.test"));
        message.To.Add(MailboxAddress.Parse("bob@example.test"));
        message.To.Add(MailboxAddress.Parse("carol@elsewhere.test"));
        message.Subject = "Binary";
        var multipart = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "See attachment.\r\n", ContentTransferEncoding = ContentEncoding.SevenBit },
            new MimePart("application", "octet-stream")
            {
                Content = new MimeContent(new MemoryStream(payload)),
                ContentTransferEncoding = ContentEncoding.Binary,
                FileName = "payload.bin",
            },
        };
        message.Body = multipart;
        var expected = Wire.Bytes(message);
        Assert.True(expected.AsSpan().IndexOf(payload) >= 0, "MimeKit did not write the binary payload verbatim");

        var response = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        Assert.Contains(" BODY=BINARYMIME", log.Transcript, StringComparison.Ordinal);
        Assert.Contains($"C: BDAT {expected.Length} LAST", log.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("C: DATA", log.Transcript, StringComparison.Ordinal);
        await AssertSingleDeliveryAsync(host, "bob@example.test", expected, log);

        // The relayed copy keeps BODY=BINARYMIME in its envelope and the same octets.
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.Equal(MessageBodyType.BinaryMime, lease.Envelope.Body);
        Assert.Equal(["carol@elsewhere.test"], lease.Envelope.Recipients.Select(r => r.Address));
        await using var queued = await host.Host.Queue.OpenContentAsync(lease.QueueId);
        using var copy = new MemoryStream();
        await queued.CopyToAsync(copy, ct);
        Wire.AssertSameBytes(expected, Wire.SplitReceived(copy.ToArray()).Body);
    }

    [Fact]
    public async Task Ordinary_message_sent_with_BDAT_when_client_prefers_chunking()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new ConfigurableSmtpClient(log) { PreferBdat = true };
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);

        var message = Build.TextMessage("sender@example.org", ["alice@example.test"], "BDAT without binary", TrickyAsciiBody);
        var expected = Wire.Bytes(message);
        var response = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        Assert.Contains($"C: BDAT {expected.Length} LAST", log.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("BODY=", log.Transcript, StringComparison.Ordinal);
        // No dot-stuffing with BDAT: the lone "." line arrives as is.
        await AssertSingleDeliveryAsync(host, "alice@example.test", expected, log);
    }

    [Fact]
    public async Task SmtpUtf8_addresses_and_headers_are_delivered_to_a_utf8_mailbox()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        host.Host.Users.AddUser("jörg@example.test", "pw");
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.UTF8));

        var message = Build.TextMessage("jörg@example.test", ["jörg@example.test"], "Grüße aus Köln", "Schöne Grüße, 日本語\r\n", ContentEncoding.EightBit);
        var format = Wire.SmtpFormat(international: true);
        var expected = Wire.Bytes(message, international: true);
        Assert.True(expected.AsSpan().IndexOf("Subject: Grüße aus Köln\r\n"u8) >= 0, "international headers are raw UTF-8");
        var response = await client.SendAsync(format, message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        Assert.Contains("C: MAIL FROM:<jörg@example.test> SMTPUTF8", log.Transcript, StringComparison.Ordinal);
        Assert.Contains("C: RCPT TO:<jörg@example.test>", log.Transcript, StringComparison.Ordinal);
        var received = await AssertSingleDeliveryAsync(host, "jörg@example.test", expected, log);
        Assert.Contains(" with UTF8SMTP id ", received, StringComparison.Ordinal);
        Assert.Contains("\tfor <jörg@example.test>;", received, StringComparison.Ordinal);

        var stored = (await host.InboxAsync("jörg@example.test"))[0];
        var parsed = await MimeMessage.LoadAsync(new MemoryStream(stored), ct);
        Assert.Equal("jörg@example.test", parsed.From.Mailboxes.Single().Address);
        Assert.Equal("Grüße aus Köln", parsed.Subject);
    }

    [Fact]
    public async Task SmtpUtf8_submission_by_a_utf8_user_relays_with_the_SMTPUTF8_flag()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        host.Host.Users.AddUser("jörg@example.test", "pw");
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(new SaslMechanismPlain("jörg@example.test", "pw"), ct);

        var message = Build.TextMessage("jörg@example.test", ["bob@example.test", "zoë@elsewhere.test"], "Hallo", "Grüße\r\n", ContentEncoding.EightBit);
        var expected = Wire.Bytes(message, international: true);
        await client.SendAsync(Wire.SmtpFormat(international: true), message, ct);
        await client.DisconnectAsync(true, ct);

        var received = await AssertSingleDeliveryAsync(host, "bob@example.test", expected, log);
        Assert.Contains(" with UTF8SMTPSA id ", received, StringComparison.Ordinal);
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.True(lease.Envelope.SmtpUtf8);
        Assert.Equal("jörg@example.test", lease.Envelope.ReversePath);
        Assert.Equal(["zoë@elsewhere.test"], lease.Envelope.Recipients.Select(r => r.Address));
        Assert.Equal(MessageBodyType.EightBitMime, lease.Envelope.Body);
    }

    [Fact]
    public async Task Eight_bit_utf8_body_arrives_with_BODY_8BITMIME_and_intact_octets()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);

        const string body = "Grüße aus Köln — ça va?\r\n日本語のテキスト\r\nEmoji: 😀🚀\r\n.dot line with ü\r\nÿþ\r\n";
        var message = Build.TextMessage("sender@example.org", ["alice@example.test"], "8-bit body", body, ContentEncoding.EightBit);
        var expected = Wire.Bytes(message);
        Assert.True(expected.AsSpan().IndexOf(Encoding.UTF8.GetBytes("日本語のテキスト")) >= 0, "the body is raw 8-bit UTF-8");
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Contains(" BODY=8BITMIME", log.Transcript, StringComparison.Ordinal);
        Assert.Contains("C: DATA", log.Transcript, StringComparison.Ordinal);
        await AssertSingleDeliveryAsync(host, "alice@example.test", expected, log);
        var parsed = await MimeMessage.LoadAsync(new MemoryStream((await host.InboxAsync("alice@example.test"))[0]), ct);
        // TextBody decodes with the platform's line endings; the octets were compared above.
        Assert.Equal(body.ReplaceLineEndings("\n"), parsed.TextBody?.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Twenty_megabyte_message_is_delivered_byte_identical()
    {
        var ct = Wire.Timeout(240);
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);

        // ~20 MB of base64 text in 76-character lines, as a text attachment.
        var random = new byte[15 * 1000 * 1000];
        new Random(20).NextBytes(random);
        var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(random, Base64FormattingOptions.InsertLineBreaks) + "\r\n");
        Assert.True(text.Length > 20_000_000);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        message.Subject = "20 MB";
        message.Body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "Large attachment follows.\r\n", ContentTransferEncoding = ContentEncoding.SevenBit },
            new TextPart("plain")
            {
                Content = new MimeContent(new MemoryStream(text)),
                ContentTransferEncoding = ContentEncoding.SevenBit,
                FileName = "random.txt",
            },
        };
        var expected = Wire.Bytes(message);
        Assert.True(expected.Length > 20_000_000);
        var response = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        Assert.Contains($" SIZE={expected.Length}", log.Transcript, StringComparison.Ordinal);
        var stored = Assert.Single(await host.InboxAsync("alice@example.test", ct));
        var (_, rest) = Wire.SplitReceived(stored);
        Assert.Equal(expected.Length, rest.Length);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(expected)), Convert.ToHexString(SHA256.HashData(rest)));
    }

    [Fact]
    public async Task Unauthenticated_relay_on_mx_is_refused_with_554_and_nothing_queued()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);

        var message = Build.TextMessage("sender@example.org", ["someone@elsewhere.test"], "Relay attempt", "nope\r\n");
        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message, ct));
        Assert.Equal(554, (int)ex.StatusCode);
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, ex.ErrorCode);
        Assert.Equal("someone@elsewhere.test", ex.Mailbox?.Address);
        Assert.Contains("S: 554 5.7.1 Relay access denied", log.Transcript, StringComparison.Ordinal);
        Assert.True(client.IsConnected); // MailKit sent RSET; the session goes on
        await client.NoOpAsync(ct);
        await client.DisconnectAsync(true, ct);
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }

    [Fact]
    public async Task Authenticated_relay_is_queued_with_DSN_NOTIFY_ORCPT_ENVID_and_RET()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new ConfigurableSmtpClient(log)
        {
            EnvelopeId = "interop-envid-42",
            Notify = DeliveryStatusNotification.Failure | DeliveryStatusNotification.Delay,
            DeliveryStatusNotificationType = DeliveryStatusNotificationType.HeadersOnly,
        };
        await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync("alice@example.test", "alice", ct);

        var message = Build.TextMessage("alice@example.test", ["someone@elsewhere.test"], "Relayed with DSN", TrickyAsciiBody);
        var expected = Wire.Bytes(message);
        var response = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        Assert.Contains("C: MAIL FROM:<alice@example.test> SIZE=", log.Transcript, StringComparison.Ordinal);
        Assert.Contains(" ENVID=interop-envid-42 RET=HDRS", log.Transcript, StringComparison.Ordinal);
        Assert.Contains("C: RCPT TO:<someone@elsewhere.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;someone@elsewhere.test", log.Transcript, StringComparison.Ordinal);
        Assert.Equal(1, await host.Host.Queue.CountAsync());

        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        var envelope = lease.Envelope;
        Assert.Equal("alice@example.test", envelope.ReversePath);
        Assert.Equal("interop-envid-42", envelope.EnvelopeId);
        Assert.Equal(DsnReturn.Headers, envelope.Return);
        Assert.Equal(MessageBodyType.SevenBit, envelope.Body);
        Assert.False(envelope.SmtpUtf8);
        var recipient = Assert.Single(envelope.Recipients);
        Assert.Equal(new QueueRecipient("someone@elsewhere.test", DsnNotify.Failure | DsnNotify.Delay, "rfc822;someone@elsewhere.test"), recipient);

        await using var content = await host.Host.Queue.OpenContentAsync(lease.QueueId, ct);
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, ct);
        var (received, rest) = Wire.SplitReceived(copy.ToArray());
        Wire.AssertSameBytes(expected, rest);
        Assert.Contains(" with ESMTPSA id ", received, StringComparison.Ordinal);
        Assert.Contains("\tfor <someone@elsewhere.test>;", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mx_offers_AUTH_after_StartTls_and_relays_for_an_authenticated_client()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = new SmtpClient(log);
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.StartTls, ct);
        Assert.NotEmpty(client.AuthenticationMechanisms);
        await client.AuthenticateAsync(new SaslMechanismLogin("bob@example.test", "bob"), ct);

        await client.SendAsync(Build.TextMessage("bob@example.test", ["far@elsewhere.test"], "Relay via MX", "hi\r\n"), ct);
        await client.DisconnectAsync(true, ct);
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.Equal("far@elsewhere.test", Assert.Single(lease.Envelope.Recipients).Address);
        Assert.Equal(DsnNotify.Unspecified, lease.Envelope.Recipients[0].Notify);
        Assert.Null(lease.Envelope.EnvelopeId);
    }

    // Sends a tricky ASCII message from alice to bob over an authenticated session and checks it arrived intact.
    private static async Task SubmitToBobAndAssertDeliveredAsync(SmtpClient client, InteropHost host, TranscriptLogger log, string subject, CancellationToken ct)
    {
        var message = Build.TextMessage("alice@example.test", ["bob@example.test"], subject, TrickyAsciiBody);
        var expected = Wire.Bytes(message);
        var response = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Matches(AcceptedResponse(), response);
        var received = await AssertSingleDeliveryAsync(host, "bob@example.test", expected, log);
        Assert.Contains(" with ESMTPSA id ", received, StringComparison.Ordinal);
    }
}
