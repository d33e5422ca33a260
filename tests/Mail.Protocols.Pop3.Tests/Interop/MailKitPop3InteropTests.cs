using System.Net;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Pop3.Tests.Interop;

/// <summary>
/// MailKit's Pop3Client (and SmtpClient for delivery) against the real servers of <see cref="Hosting.MailHost"/>
/// over loopback sockets: what the store holds must come out of RETR byte for byte, with every way of logging in.
/// </summary>
public sealed class MailKitPop3InteropTests
{
    [Fact]
    public async Task Message_sent_over_smtp_is_downloaded_over_pop3_with_stls_byte_for_byte()
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();

        var smtpLog = new TranscriptLogger();
        var sent = Messages.Text("sender@example.org", Pop3InteropHost.Alice, "End to end", Messages.TrickyBody);
        using (var smtp = new SmtpClient(smtpLog))
        {
            await host.ConnectAsync(smtp, ct);
            await smtp.SendAsync(sent, ct);
            await smtp.DisconnectAsync(true, ct);
        }
        var inbox = await host.InboxAsync(cancellationToken: ct);
        Assert.True(inbox.Count == 1, $"alice has {inbox.Count} messages. SMTP transcript:\n{smtpLog.Transcript}");
        var stored = inbox[0].Content;
        var sentBytes = Messages.SmtpBytes(sent);
        Assert.True(stored.AsSpan().EndsWith(sentBytes), "The store does not hold what was sent:\n" + Wire.Preview(stored, 2000));

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        Assert.True(client.IsSecure, log.Transcript);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        Assert.True(client.IsAuthenticated, log.Transcript);
        Assert.Equal(1, client.Count);
        Assert.Equal(stored.Length, await client.GetMessageSizeAsync(0, ct));

        byte[] downloaded;
        await using (var stream = await client.GetStreamAsync(0, cancellationToken: ct))
        {
            downloaded = await Messages.ReadAllAsync(stream, ct);
        }
        Wire.AssertSameBytes(stored, downloaded, "RETR does not return what the store holds. ");

        var message = await client.GetMessageAsync(0, ct);
        Assert.Equal("End to end", message.Subject);
        Assert.Equal(sent.MessageId, message.MessageId);
        // MimeKit hands out the decoded text with LF line ends; the octets were compared above.
        var text = Assert.IsType<TextPart>(message.Body).Text;
        Assert.Equal(Messages.TrickyBody.ReplaceLineEndings("\n"), text.ReplaceLineEndings("\n"));
        await client.DisconnectAsync(true, ct);

        // On the wire the dots were doubled (RFC 1939 §3); MailKit removed them again.
        var transcript = log.Transcript;
        Assert.Contains("S: ..\n", transcript, StringComparison.Ordinal);
        Assert.Contains("S: ...two dots\n", transcript, StringComparison.Ordinal);
        Assert.Contains("S: ..leading dot\n", transcript, StringComparison.Ordinal);
        Assert.Contains("S: .. space after dot\n", transcript, StringComparison.Ordinal);
        // Nothing was deleted: RETR does not remove messages.
        Assert.Single(await host.InboxAsync(cancellationToken: ct));
    }

    public static TheoryData<string> SaslMechanisms => new() { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };

    private static SaslMechanism Mechanism(string name, NetworkCredential credential) => name switch
    {
        "PLAIN" => new SaslMechanismPlain(credential),
        "LOGIN" => new SaslMechanismLogin(credential),
        "CRAM-MD5" => new SaslMechanismCramMd5(credential),
        "SCRAM-SHA-256" => new SaslMechanismScramSha256(credential),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(SaslMechanisms))]
    public async Task Sasl_mechanism_over_stls_logs_in_and_downloads(string mechanism)
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();
        var raw = Messages.Raw(1);
        await host.AppendAsync(raw, cancellationToken: ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        Assert.True(client.IsSecure);
        Assert.True(client.AuthenticationMechanisms.Contains(mechanism), $"{mechanism} not offered after STLS. Transcript:\n{log.Transcript}");

        await client.AuthenticateAsync(Mechanism(mechanism, Pop3InteropHost.AliceCredential), ct);

        Assert.True(client.IsAuthenticated, log.Transcript);
        Assert.Contains("C: AUTH " + mechanism, log.Transcript, StringComparison.Ordinal);
        Assert.Equal(1, await client.GetMessageCountAsync(ct));
        await using (var stream = await client.GetStreamAsync(0, cancellationToken: ct))
        {
            Wire.AssertSameBytes(raw, await Messages.ReadAllAsync(stream, ct));
        }
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Apop_is_refused_on_a_plain_connection_where_no_login_is_offered_and_logs_in_after_stls()
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();
        var raw = Messages.Raw(2);
        await host.AppendAsync(raw, cancellationToken: ct);

        var plainLog = new TranscriptLogger();
        using (var plain = new Pop3Client(plainLog))
        {
            await host.ConnectAsync(plain, host.Pop3, SecureSocketOptions.None, ct);
            Assert.False(plain.IsSecure);
            // The greeting carries the APOP timestamp (APOP can be used once STLS is done); without TLS no login is offered.
            Assert.Matches(@"S: \+OK pop\.interop\.test POP3 ready <[^<>@\s]+@pop\.interop\.test>\n", plainLog.Transcript);
            Assert.True(plain.Capabilities.HasFlag(Pop3Capabilities.StartTLS), plainLog.Transcript);
            // (MailKit assumes USER until told otherwise, so look at the CAPA reply itself.)
            Assert.DoesNotContain("S: USER\n", plainLog.Transcript, StringComparison.Ordinal);
            Assert.DoesNotContain("S: SASL", plainLog.Transcript, StringComparison.Ordinal);
            Assert.Empty(plain.AuthenticationMechanisms);

            // MailKit tries APOP first whenever the greeting has a timestamp.
            plain.Capabilities &= ~Pop3Capabilities.User;
            await Assert.ThrowsAsync<AuthenticationException>(() => plain.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct));
            Assert.Contains("S: -ERR [AUTH] Authentication requires TLS, use STLS first\n", plainLog.Transcript, StringComparison.Ordinal);
            Assert.False(plain.IsAuthenticated);
        }

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Apop), log.Transcript);
        // Leave APOP as the only way in.
        client.AuthenticationMechanisms.Clear();
        client.Capabilities &= ~Pop3Capabilities.User;
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);

        Assert.True(client.IsAuthenticated, log.Transcript);
        Assert.Matches(@"C: APOP alice@example\.test [0-9a-f]{32}\n", log.Transcript);
        Assert.DoesNotContain("C: AUTH", log.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("C: USER", log.Transcript, StringComparison.Ordinal);
        await using (var stream = await client.GetStreamAsync(0, cancellationToken: ct))
        {
            Wire.AssertSameBytes(raw, await Messages.ReadAllAsync(stream, ct));
        }
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task User_and_pass_over_stls_logs_in()
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();
        var raw = Messages.Raw(3);
        await host.AppendAsync(raw, cancellationToken: ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.User), "USER not offered after STLS. Transcript:\n" + log.Transcript);

        // Without APOP and SASL, MailKit falls back to USER/PASS.
        client.Capabilities &= ~Pop3Capabilities.Apop;
        client.AuthenticationMechanisms.Clear();
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);

        Assert.True(client.IsAuthenticated, log.Transcript);
        Assert.Contains("C: USER alice@example.test\n", log.Transcript, StringComparison.Ordinal);
        Assert.Contains("C: PASS alice\n", log.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("C: AUTH", log.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("C: APOP", log.Transcript, StringComparison.Ordinal);
        await using (var stream = await client.GetStreamAsync(0, cancellationToken: ct))
        {
            Wire.AssertSameBytes(raw, await Messages.ReadAllAsync(stream, ct));
        }
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Implicit_tls_endpoint_serves_pop3_from_the_first_byte()
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();
        var raw = Messages.Raw(4);
        await host.AppendAsync(raw, cancellationToken: ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3s, SecureSocketOptions.SslOnConnect, ct);

        Assert.True(client.IsSecure);
        Assert.False(client.Capabilities.HasFlag(Pop3Capabilities.StartTLS), "STLS offered on a TLS connection. Transcript:\n" + log.Transcript);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.User), log.Transcript);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);
        Assert.Equal(-1, client.ExpirePolicy); // EXPIRE NEVER
        Assert.Equal("Mail.Protocols", client.Implementation);
        await client.AuthenticateAsync(new SaslMechanismPlain(Pop3InteropHost.AliceCredential), ct);
        Assert.Equal(1, client.Count);
        await using (var stream = await client.GetStreamAsync(0, cancellationToken: ct))
        {
            Wire.AssertSameBytes(raw, await Messages.ReadAllAsync(stream, ct));
        }
        await client.DisconnectAsync(true, ct);
        Assert.DoesNotContain("C: STLS", log.Transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Uidl_values_are_stable_across_sessions_and_survive_deleting_another_message()
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();
        for (var i = 1; i <= 3; i++)
        {
            await host.AppendAsync(Messages.Raw(i), cancellationToken: ct);
        }

        async Task<IList<string>> UidsAsync(Func<Pop3Client, Task>? then = null)
        {
            var (client, log) = await host.LoginWhenUnlockedAsync(ct);
            using (client)
            {
                Assert.True(client.SupportsUids, log.Transcript);
                var uids = await client.GetMessageUidsAsync(ct);
                for (var i = 0; i < uids.Count; i++)
                {
                    Assert.Equal(uids[i], await client.GetMessageUidAsync(i, ct)); // UIDL n agrees with UIDL
                }
                if (then is not null)
                {
                    await then(client);
                }
                await client.DisconnectAsync(true, ct);
                return uids;
            }
        }

        var first = await UidsAsync();
        var second = await UidsAsync(client => client.DeleteMessageAsync(1, ct));
        var third = await UidsAsync();

        Assert.Equal(3, first.Count);
        Assert.Equal(3, first.Distinct(StringComparer.Ordinal).Count());
        Assert.All(first, uid => Assert.Matches("^[\x21-\x7E]{1,70}$", uid)); // RFC 1939 §7
        Assert.Equal(first, second);
        Assert.Equal(new[] { first[0], first[2] }, third);
    }

    [Fact]
    public async Task Top_returns_exactly_the_header_block()
    {
        var ct = Wire.Timeout();
        await using var host = await Pop3InteropHost.StartAsync();
        var raws = new List<byte[]>();
        for (var i = 1; i <= 3; i++)
        {
            raws.Add(Messages.Raw(i));
            await host.AppendAsync(raws[^1], cancellationToken: ct);
        }

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(new SaslMechanismScramSha256(Pop3InteropHost.AliceCredential), ct);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Top), log.Transcript);

        var headers = await client.GetMessageHeadersAsync(1, ct);
        Assert.Equal("Message 2", headers[HeaderId.Subject]);
        Assert.Equal("<m2@example.org>", headers[HeaderId.MessageId]);
        Assert.Equal("sender2@example.org", headers[HeaderId.From]);

        await using (var stream = await client.GetStreamAsync(0, headersOnly: true, ct))
        {
            Wire.AssertSameBytes(Messages.HeaderBlock(raws[0]), await Messages.ReadAllAsync(stream, ct), "TOP 1 0: ");
        }
        // Pipelined TOP for every message.
        var streams = await client.GetStreamsAsync([0, 1, 2], headersOnly: true, ct);
        for (var i = 0; i < 3; i++)
        {
            await using var stream = streams[i];
            Wire.AssertSameBytes(Messages.HeaderBlock(raws[i]), await Messages.ReadAllAsync(stream, ct), $"TOP {i + 1} 0: ");
        }
        Assert.Contains("C: TOP 1 0\n", log.Transcript, StringComparison.Ordinal);
        await client.DisconnectAsync(true, ct);
        Assert.Equal(3, (await host.InboxAsync(cancellationToken: ct)).Count);
    }

    [Fact]
    public async Task Pipelined_download_of_100_messages_returns_each_one_intact()
    {
        var ct = Wire.Timeout(120);
        await using var host = await Pop3InteropHost.StartAsync();
        var raws = new List<byte[]>();
        for (var i = 1; i <= 100; i++)
        {
            raws.Add(Messages.Raw(i));
            await host.AppendAsync(raws[^1], cancellationToken: ct);
        }

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Pipelining), log.Transcript);
        Assert.Equal(100, client.Count);
        var indexes = Enumerable.Range(0, 100).ToList();

        var messages = await client.GetMessagesAsync(indexes, ct);
        Assert.Equal(100, messages.Count);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal($"Message {i + 1}", messages[i].Subject);
            Assert.Equal($"m{i + 1}@example.org", messages[i].MessageId);
            var expectedBody = System.Text.Encoding.ASCII.GetString(raws[i][Messages.HeaderBlock(raws[i]).Length..]);
            Assert.Equal(expectedBody.ReplaceLineEndings("\n"), Assert.IsType<TextPart>(messages[i].Body).Text.ReplaceLineEndings("\n"));
        }
        // The RETRs went out in batches, not one command per round trip.
        Assert.True(log.ClientWrites.Any(w => Wire.Count(w, "RETR ") > 1), "No write carried more than one RETR:\n" + string.Join("\n", log.ClientWrites.Take(20)));

        // The same download as raw streams: exactly the stored octets.
        var streams = await client.GetStreamsAsync(indexes, cancellationToken: ct);
        for (var i = 0; i < 100; i++)
        {
            await using var stream = streams[i];
            Wire.AssertSameBytes(raws[i], await Messages.ReadAllAsync(stream, ct), $"Message {i + 1}: ");
        }
        await client.DisconnectAsync(true, ct);
        Assert.Equal(100, (await host.InboxAsync(cancellationToken: ct)).Count);
    }

    /// <summary>
    /// A 2 MiB message whose dot-lines sit right at the 32 KiB boundaries the server reads the store in
    /// (a "." as the first octet of a read, CR and LF split across reads, a lone "." line), downloaded whole.
    /// </summary>
    [Fact]
    public async Task Large_message_with_dot_lines_on_read_boundaries_is_downloaded_intact()
    {
        var ct = Wire.Timeout(120);
        await using var host = await Pop3InteropHost.StartAsync();
        var builder = new System.Text.StringBuilder("From: big@example.org\r\nTo: alice@example.test\r\nSubject: Big\r\n\r\n");
        void LineEndingAt(int end)
        {
            var need = end - builder.Length;
            Assert.True(need >= 3, "layout error");
            builder.Append('x', need - 2).Append("\r\n");
        }
        const int Chunk = 32 * 1024;
        LineEndingAt(Chunk);
        builder.Append(".first octet of the second read\r\n");
        LineEndingAt((2 * Chunk) + 1); // CR is the last octet of a read, LF the first of the next, then a dot
        builder.Append(".after a split CRLF\r\n");
        LineEndingAt((3 * Chunk) - 1); // the dot is the last octet of a read
        builder.Append("..two dots\r\n");
        LineEndingAt(4 * Chunk);
        builder.Append(".\r\n");
        var random = new Random(1939);
        while (builder.Length < 2 * 1024 * 1024)
        {
            if (random.Next(3) == 0)
            {
                builder.Append('.', random.Next(1, 3));
            }
            builder.Append('y', random.Next(0, 200)).Append("\r\n");
        }
        var raw = System.Text.Encoding.ASCII.GetBytes(builder.ToString());
        await host.AppendAsync(raw, cancellationToken: ct);
        await host.AppendAsync(Messages.Raw(1), cancellationToken: ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(new SaslMechanismPlain(Pop3InteropHost.AliceCredential), ct);
        var sizes = await client.GetMessageSizesAsync(ct);
        Assert.Equal(new[] { raw.Length, Messages.Raw(1).Length }, sizes);

        // Pipelined with a small message after it: the big one must end exactly where it should.
        var streams = await client.GetStreamsAsync([0, 1], cancellationToken: ct);
        await using (var big = streams[0])
        {
            Wire.AssertSameBytes(raw, await Messages.ReadAllAsync(big, ct), "2 MiB message: ");
        }
        await using (var small = streams[1])
        {
            Wire.AssertSameBytes(Messages.Raw(1), await Messages.ReadAllAsync(small, ct), "Message after the big one: ");
        }
        await client.DisconnectAsync(true, ct);
    }

    /// <summary>
    /// The server advertises "UTF8 USER" (RFC 6856: UTF-8 user names and passwords are accepted), and MailKit
    /// sends USER/PASS in UTF-8, with or without issuing the UTF8 command first.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task User_and_pass_with_a_non_ascii_password_logs_in(bool utf8CommandFirst)
    {
        var ct = Wire.Timeout();
        const string Password = "p\u00e4ssw\u00f6rd-\u65e5\u672c";
        await using var host = await Pop3InteropHost.StartAsync(options => options.Users.Add(("carol@example.test", Password)));
        await host.AppendAsync(Messages.Raw(1), "carol@example.test", ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.UTF8User), log.Transcript);
        if (utf8CommandFirst)
        {
            await client.EnableUTF8Async(ct);
        }
        client.Capabilities &= ~Pop3Capabilities.Apop;
        client.AuthenticationMechanisms.Clear();

        var error = await Record.ExceptionAsync(() => client.AuthenticateAsync(new NetworkCredential("carol@example.test", Password), ct));

        Assert.True(error is null, $"Login failed: {error?.GetType().Name}\nTranscript:\n{log.Transcript}");
        Assert.Contains("C: PASS " + Password + "\n", log.Transcript, StringComparison.Ordinal);
        Assert.Equal(1, client.Count);
        await client.DisconnectAsync(true, ct);
    }
}
