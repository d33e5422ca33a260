using System.Net;
using System.Text;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Hosting;
using MimeKit;

namespace Mail.Protocols.Pop3.Tests.Interop;

/// <summary>
/// A <see cref="MailHost"/> on free loopback ports (SMTP MX, POP3 with STLS, POP3 over implicit TLS) with
/// two users (alice, bob) in example.test, plus what every POP3 interop test needs: connecting MailKit
/// with the host's self-signed certificate pinned, filling and reading INBOXes.
/// </summary>
internal sealed class Pop3InteropHost : IAsyncDisposable
{
    public const string ServerName = "pop.interop.test";
    public const string Alice = "alice@example.test";
    public const string AlicePassword = "alice";
    public const string Bob = "bob@example.test";

    private Pop3InteropHost(MailHost host) => Host = host;

    public MailHost Host { get; }

    public IPEndPoint Smtp => Host.EndPoints["smtp"];

    public IPEndPoint Pop3 => Host.EndPoints["pop3"];

    public IPEndPoint Pop3s => Host.EndPoints["pop3s"];

    public static NetworkCredential AliceCredential => new(Alice, AlicePassword);

    public static async Task<Pop3InteropHost> StartAsync(Action<MailHostOptions>? configure = null)
    {
        var options = new MailHostOptions
        {
            SmtpPort = 0,
            SubmissionPort = null,
            SmtpsPort = null,
            Pop3Port = 0,
            Pop3sPort = 0, ImapPort = null, ImapsPort = null,
            ServerName = ServerName,
        };
        options.Domains.Add("example.test");
        options.Users.Add((Alice, AlicePassword));
        options.Users.Add((Bob, "bob"));
        options.Smtp.FailedAuthDelay = TimeSpan.FromMilliseconds(50);
        options.Pop3.FailedAuthDelay = TimeSpan.FromMilliseconds(50);
        configure?.Invoke(options);
        var host = new MailHost(options);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return new Pop3InteropHost(host);
    }

    /// <summary>Connects <paramref name="client"/> to <paramref name="endPoint"/> (the host's certificate pinned).</summary>
    public async Task ConnectAsync(Pop3Client client, IPEndPoint endPoint, SecureSocketOptions security, CancellationToken cancellationToken)
    {
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(Host.Certificate);
        client.CheckCertificateRevocation = false;
        client.Timeout = 60_000;
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, security, cancellationToken);
    }

    /// <summary>Connects <paramref name="client"/> to the host's SMTP MX port (the host's certificate pinned).</summary>
    public async Task ConnectAsync(SmtpClient client, CancellationToken cancellationToken)
    {
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(Host.Certificate);
        client.CheckCertificateRevocation = false;
        client.LocalDomain = "client.example.org";
        client.Timeout = 60_000;
        await client.ConnectAsync(Smtp.Address.ToString(), Smtp.Port, SecureSocketOptions.None, cancellationToken);
    }

    /// <summary>Appends <paramref name="content"/> to the user's INBOX directly through the store; returns the UID.</summary>
    public async Task<uint> AppendAsync(byte[] content, string user = Alice, CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream(content, writable: false);
        return (await Host.Store.AppendAsync(user, "INBOX", stream, cancellationToken: cancellationToken)).Uid;
    }

    /// <summary>Every message in the user's INBOX as (UID, content), as the store holds them.</summary>
    public async Task<IReadOnlyList<(uint Uid, byte[] Content)>> InboxAsync(string user = Alice, CancellationToken cancellationToken = default)
    {
        var result = new List<(uint, byte[])>();
        foreach (var info in await Host.Store.ListMessagesAsync(user, "INBOX", cancellationToken))
        {
            result.Add((info.Uid, await ContentAsync(info.Uid, user, cancellationToken)));
        }
        return result;
    }

    public async Task<byte[]> ContentAsync(uint uid, string user = Alice, CancellationToken cancellationToken = default)
    {
        await using var stream = await Host.Store.OpenContentAsync(user, "INBOX", uid, cancellationToken);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }

    /// <summary>
    /// Logs in on a fresh STLS connection, retrying while the maildrop is still locked by a session the
    /// server has not finished yet (a poll with a deadline, not a fixed sleep). The caller disposes the client.
    /// </summary>
    public async Task<(Pop3Client Client, TranscriptLogger Log)> LoginWhenUnlockedAsync(CancellationToken cancellationToken)
    {
        var attempts = new StringBuilder();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var log = new TranscriptLogger();
            var client = new Pop3Client(log);
            try
            {
                await ConnectAsync(client, Pop3, SecureSocketOptions.StartTls, cancellationToken);
                await client.AuthenticateAsync(new SaslMechanismPlain(AliceCredential), cancellationToken);
                return (client, log);
            }
            catch (AuthenticationException) when (log.Transcript.Contains("[IN-USE]", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                attempts.Append(log.Transcript);
                client.Dispose();
                await Task.Delay(20, cancellationToken);
            }
            catch (Exception ex)
            {
                client.Dispose();
                throw new InvalidOperationException($"Login failed. Earlier attempts:\n{attempts}\nLast attempt:\n{log.Transcript}", ex);
            }
        }
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}

internal static class Messages
{
    /// <summary>A body with every line a naive dot-stuffing implementation gets wrong.</summary>
    public const string TrickyBody =
        "Hello Alice,\r\n"
        + ".\r\n"
        + "..two dots\r\n"
        + ".leading dot\r\n"
        + "\r\n"
        + "a line with . inside\r\n"
        + ". space after dot\r\n"
        + "Bye.\r\n";

    public static MimeMessage Text(string from, string to, string subject, string body)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("client.example.org");
        message.Body = new TextPart("plain") { Text = body, ContentTransferEncoding = ContentEncoding.SevenBit };
        return message;
    }

    /// <summary>Raw RFC 5322 octets for a message appended straight to the store.</summary>
    public static byte[] Raw(int number, string? extraBody = null)
    {
        var body = new StringBuilder();
        body.Append(System.Globalization.CultureInfo.InvariantCulture, $"Message number {number}.\r\n");
        body.Append(".\r\n..\r\n.dot first\r\n");
        // Sizes differ per message so a mix-up between messages cannot go unnoticed.
        for (var i = 0; i < number % 7 * 10; i++)
        {
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"{number:D3}-{i:D3} The quick brown fox jumps over the lazy dog.\r\n");
        }
        body.Append(extraBody);
        var text = $"From: sender{number}@example.org\r\n"
            + "To: alice@example.test\r\n"
            + $"Subject: Message {number}\r\n"
            + $"Message-ID: <m{number}@example.org>\r\n"
            + "Date: Sun, 29 Nov 2026 12:00:00 +0000\r\n"
            + "MIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=us-ascii\r\n"
            + "\r\n"
            + body;
        return Encoding.ASCII.GetBytes(text);
    }

    /// <summary>The octets MailKit's SmtpClient puts on the wire for <paramref name="message"/> (before dot-stuffing).</summary>
    public static byte[] SmtpBytes(MimeMessage message) => MailKitWire.Bytes(message);

    /// <summary>The header block of <paramref name="message"/> including the empty line that ends it.</summary>
    public static byte[] HeaderBlock(byte[] message)
    {
        var end = message.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end >= 0, "The message has no empty line after its headers");
        return message[..(end + 4)];
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }
}

internal static class Wire
{
    public static CancellationToken Timeout(int seconds = 60) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    public static string Preview(byte[] bytes, int max = 400) => ByteAssert.Preview(bytes, max);

    /// <summary>Asserts equality, reporting the first differing offset instead of dumping whole messages.</summary>
    public static void AssertSameBytes(byte[] expected, byte[] actual, string context = "") => ByteAssert.AssertSameBytes(expected, actual, context);

    public static int Count(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
