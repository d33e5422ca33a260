using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>One command's answer as it came on the wire: the untagged responses (each whole, literals inline) and the tagged one.</summary>
internal sealed record ImapExchange(IReadOnlyList<byte[]> Untagged, byte[] Tagged)
{
    /// <summary>The tagged status: OK, NO or BAD.</summary>
    public string Status
    {
        get
        {
            var line = Encoding.Latin1.GetString(Tagged);
            var parts = line.Split(' ', 3);
            return parts.Length > 1 ? parts[1].ToUpperInvariant() : "";
        }
    }

    /// <summary>The tagged line as text, for failure messages.</summary>
    public string TaggedText => Encoding.Latin1.GetString(Tagged).TrimEnd();
}

/// <summary>
/// A minimal IMAP client over a plain socket that keeps every response's exact octets, for comparing two servers
/// byte for byte where a client library would parse them away. Commands are tagged <c>t1</c>, <c>t2</c>, …; literals
/// are sent non-synchronizing (<c>{n+}</c>, RFC 7888), so the server must announce LITERAL+. Every command gives up
/// after 60 seconds.
/// </summary>
internal sealed class RawImapClient : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly ImapResponseReader _reader;
    private int _tag;

    private RawImapClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new ImapResponseReader(_stream);
    }

    /// <summary>The greeting line.</summary>
    public byte[] Greeting { get; private set; } = [];

    public static async Task<RawImapClient> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            var client = new RawImapClient(tcp);
            using var timeout = Timeout(cancellationToken);
            client.Greeting = await client._reader.ReadResponseAsync(timeout.Token).ConfigureAwait(false);
            return client;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="command"/> (without tag and CRLF) and reads every response up to its tagged one.</summary>
    public Task<ImapExchange> CommandAsync(string command, CancellationToken cancellationToken) =>
        SendAsync([Encoding.UTF8.GetBytes(command)], cancellationToken);

    /// <summary>
    /// Sends a command made of <paramref name="pieces"/>: text and literal octets in turn. Each text piece that a
    /// literal follows ends with its announcement <c>{n+}</c> (the CRLF after it is added here); the literal's
    /// octets are the next piece, and the text after it the one after that.
    /// </summary>
    public async Task<ImapExchange> SendAsync(IReadOnlyList<byte[]> pieces, CancellationToken cancellationToken)
    {
        var tag = "t" + (++_tag).ToString(CultureInfo.InvariantCulture);
        using var timeout = Timeout(cancellationToken);
        using (var command = new MemoryStream())
        {
            command.Write(Encoding.ASCII.GetBytes(tag + " "));
            for (var i = 0; i < pieces.Count; i++)
            {
                command.Write(pieces[i]);
                if (i % 2 == 0 && i < pieces.Count - 1)
                {
                    if (!EndsWithNonSyncLiteral(pieces[i]))
                    {
                        throw new ArgumentException("A text piece that a literal follows must end with its announcement {n+}.", nameof(pieces));
                    }
                    // The announcement's CRLF; the literal's octets follow, then the rest of the command.
                    command.Write("\r\n"u8);
                }
            }
            command.Write("\r\n"u8);
            await _stream.WriteAsync(command.GetBuffer().AsMemory(0, (int)command.Length), timeout.Token).ConfigureAwait(false);
        }
        var untagged = new List<byte[]>();
        var prefix = Encoding.ASCII.GetBytes(tag + " ");
        while (true)
        {
            var response = await _reader.ReadResponseAsync(timeout.Token).ConfigureAwait(false);
            if (response.AsSpan().StartsWith(prefix))
            {
                return new ImapExchange(untagged, response);
            }
            untagged.Add(response);
        }
    }

    /// <summary>APPENDs <paramref name="content"/> to <paramref name="mailbox"/> as one non-synchronizing literal.</summary>
    public Task<ImapExchange> AppendAsync(string mailbox, byte[] content, CancellationToken cancellationToken) =>
        SendAsync([Encoding.UTF8.GetBytes($"APPEND {mailbox} {{{content.Length.ToString(CultureInfo.InvariantCulture)}+}}"), content], cancellationToken);

    private static bool EndsWithNonSyncLiteral(byte[] piece) => piece.Length > 3 && piece[^1] == '}' && piece[^2] == '+';

    private static CancellationTokenSource Timeout(CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(s_timeout);
        return source;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
