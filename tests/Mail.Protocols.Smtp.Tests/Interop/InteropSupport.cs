using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Hosting;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// A <see cref="MailHost"/> on free loopback ports with two users (alice, bob) in example.test, plus the
/// helpers every interop test needs: connecting MailKit, reading INBOXes, and the expected wire bytes.
/// </summary>
internal sealed class InteropHost : IAsyncDisposable
{
    public const string ServerName = "mx.interop.test";
    public const string ClientName = "client.example.org";

    private InteropHost(MailHost host) => Host = host;

    public MailHost Host { get; }

    public IPEndPoint Mx => Host.EndPoints["smtp"];

    public IPEndPoint Submission => Host.EndPoints["submission"];

    public IPEndPoint Smtps => Host.EndPoints["smtps"];

    public static async Task<InteropHost> StartAsync(Action<MailHostOptions>? configure = null)
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = 0, SmtpsPort = 0, Pop3Port = 0, Pop3sPort = 0, ImapPort = null, ImapsPort = null, ServerName = ServerName };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.Users.Add(("bob@example.test", "bob"));
        options.Smtp.FailedAuthDelay = TimeSpan.FromMilliseconds(50);
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
        return new InteropHost(host);
    }

    /// <summary>Prepares <paramref name="client"/> (fixed EHLO name; the host's self-signed certificate pinned) and connects it.</summary>
    public async Task ConnectAsync(SmtpClient client, IPEndPoint endPoint, SecureSocketOptions security, CancellationToken cancellationToken)
    {
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(Host.Certificate);
        client.CheckCertificateRevocation = false;
        client.LocalDomain = ClientName;
        client.Timeout = 60_000;
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, security, cancellationToken);
    }

    /// <summary>Every message in the user's INBOX, as stored (with the Received header the server added).</summary>
    public async Task<IReadOnlyList<byte[]>> InboxAsync(string user, CancellationToken cancellationToken = default)
    {
        var result = new List<byte[]>();
        foreach (var info in await Host.Store.ListMessagesAsync(user, "INBOX", cancellationToken))
        {
            await using var stream = await Host.Store.OpenContentAsync(user, "INBOX", info.Uid, cancellationToken);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken);
            result.Add(copy.ToArray());
        }
        return result;
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}

internal static class Build
{
    public static MimeMessage TextMessage(string from, IEnumerable<string> to, string subject, string body, ContentEncoding encoding = ContentEncoding.SevenBit)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = body, ContentTransferEncoding = encoding };
        return message;
    }

    public static SaslMechanism Mechanism(string name, NetworkCredential credential) => name switch
    {
        "PLAIN" => new SaslMechanismPlain(credential),
        "LOGIN" => new SaslMechanismLogin(credential),
        "CRAM-MD5" => new SaslMechanismCramMd5(credential),
        "SCRAM-SHA-256" => new SaslMechanismScramSha256(credential),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}

internal static class Wire
{
    public static CancellationToken Timeout(int seconds = 60) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>The format MailKit puts on the wire (CRLF, final newline ensured).</summary>
    public static FormatOptions SmtpFormat(bool international = false) => MailKitWire.SmtpFormat(international);

    /// <summary>The octets of <paramref name="message"/> as MailKit sends them (before dot-stuffing).</summary>
    public static byte[] Bytes(MimeMessage message, bool international = false) => MailKitWire.Bytes(message, international);

    /// <summary>Splits off the first header field, which must be the server's Received trace header.</summary>
    public static (string Received, byte[] Body) SplitReceived(byte[] stored)
    {
        Assert.True(stored.AsSpan().StartsWith("Received: "u8), "The stored message does not start with a Received header: " + Preview(stored));
        var end = 0;
        while (true)
        {
            var lf = Array.IndexOf(stored, (byte)'\n', end);
            Assert.True(lf >= 0, "Unterminated Received header");
            Assert.Equal((byte)'\r', stored[lf - 1]);
            end = lf + 1;
            if (end >= stored.Length || (stored[end] != (byte)' ' && stored[end] != (byte)'\t'))
            {
                break;
            }
        }
        return (Encoding.UTF8.GetString(stored, 0, end), stored[end..]);
    }

    public static string Preview(byte[] bytes, int max = 400) => ByteAssert.Preview(bytes, max);

    /// <summary>Asserts equality, reporting the first differing offset instead of dumping whole messages.</summary>
    public static void AssertSameBytes(byte[] expected, byte[] actual) => ByteAssert.AssertSameBytes(expected, actual);
}

internal sealed class ConfigurableSmtpClient(IProtocolLogger logger) : SmtpClient(logger)
{
    public string? EnvelopeId { get; set; }

    public DeliveryStatusNotification? Notify { get; set; }

    public bool PreferBdat { get; set; }

    protected override string? GetEnvelopeId(MimeMessage message) => EnvelopeId;

    protected override DeliveryStatusNotification? GetDeliveryStatusNotifications(MimeMessage message, MailboxAddress mailbox) => Notify;

    protected override bool PreferSendAsBinaryData => PreferBdat;
}

/// <summary>A bare SMTP client over a TcpClient, for checking exact reply lines.</summary>
internal sealed class RawSmtpConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly StringBuilder _transcript = new();
    private int _start;
    private int _end;

    private RawSmtpConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public string Transcript => _transcript.ToString();

    /// <summary>Whether the server sent octets not yet read.</summary>
    public bool HasBufferedInput => _start < _end;

    /// <summary>Runs the TLS handshake on the connection (after a 220 to STARTTLS), accepting only <paramref name="certificate"/>.</summary>
    public async Task StartTlsAsync(X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        Assert.False(HasBufferedInput, "The server sent data after its STARTTLS reply. Transcript:\n" + Transcript);
        var pinned = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (s, c, h, e) => c is not null && c.GetCertHashString(HashAlgorithmName.SHA256) == pinned,
            },
            cancellationToken);
        _stream = ssl;
        _transcript.Append("* TLS established\n");
    }

    /// <summary>Connects to <paramref name="endPoint"/>, from <paramref name="from"/> (another loopback address, say) when given.</summary>
    public static async Task<RawSmtpConnection> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken, IPAddress? from = null)
    {
        var client = from is null ? new TcpClient(endPoint.AddressFamily) : new TcpClient(new IPEndPoint(from, 0));
        client.NoDelay = true;
        try
        {
            await client.ConnectAsync(endPoint, cancellationToken);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        return new RawSmtpConnection(client);
    }

    public async Task WriteAsync(string text, CancellationToken cancellationToken)
    {
        _transcript.Append(string.Concat(text.Split("\r\n").Where(l => l.Length > 0).Select(l => "C: " + l + "\n")));
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
    }

    public async Task WriteAsync(byte[] data, CancellationToken cancellationToken)
    {
        _transcript.Append(System.Globalization.CultureInfo.InvariantCulture, $"C: [{data.Length} octets]\n");
        await _stream.WriteAsync(data, cancellationToken);
    }

    /// <summary>One line without its CRLF, or null at end of stream.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var length = lf - _start;
                if (length > 0 && _buffer[lf - 1] == (byte)'\r')
                {
                    length--;
                }
                var line = Encoding.UTF8.GetString(_buffer, _start, length);
                _start = lf + 1;
                _transcript.Append("S: ").Append(line).Append('\n');
                return line;
            }
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (n == 0)
            {
                return null;
            }
            _end += n;
        }
    }

    /// <summary>A whole reply (every line up to the one with a space after the code).</summary>
    public async Task<IReadOnlyList<string>> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken) ?? throw new IOException("Connection closed mid-reply. Transcript:\n" + Transcript);
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return lines;
            }
        }
    }

    public async Task<string> ReadSingleLineReplyAsync(CancellationToken cancellationToken)
    {
        var reply = await ReadReplyAsync(cancellationToken);
        Assert.True(reply.Count == 1, "Expected a one-line reply. Transcript:\n" + Transcript);
        return reply[0];
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
