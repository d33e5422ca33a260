using System.Text;
using MailKit;

namespace Mail.Protocols.TestSupport;

/// <summary>Records a MailKit conversation: the transcript (for failure messages) and each client write.</summary>
public sealed class TranscriptLogger : IProtocolLogger
{
    private const int MaxTranscript = 256 * 1024;
    private const int MaxChunk = 2048;
    private readonly Lock _lock = new();
    private readonly StringBuilder _transcript = new();
    private readonly List<string> _clientWrites = [];

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public string Transcript
    {
        get
        {
            lock (_lock)
            {
                return _transcript.ToString();
            }
        }
    }

    /// <summary>Each write the client made, decoded as UTF-8 and cut to 2 KiB.</summary>
    public IReadOnlyList<string> ClientWrites
    {
        get
        {
            lock (_lock)
            {
                return [.. _clientWrites];
            }
        }
    }

    public void LogConnect(Uri uri) => Append("* connected to " + uri + "\n");

    public void LogClient(byte[] buffer, int offset, int count)
    {
        var text = Decode(buffer, offset, count);
        lock (_lock)
        {
            _clientWrites.Add(text);
        }
        Append(Prefix("C: ", text));
    }

    public void LogServer(byte[] buffer, int offset, int count) => Append(Prefix("S: ", Decode(buffer, offset, count)));

    private static string Decode(byte[] buffer, int offset, int count)
    {
        var text = Encoding.UTF8.GetString(buffer, offset, Math.Min(count, MaxChunk));
        return count > MaxChunk ? text + $"\r\n[... {count - MaxChunk} more octets]\r\n" : text;
    }

    private static string Prefix(string prefix, string text) =>
        string.Concat(text.Split("\r\n").Where(l => l.Length > 0).Select(l => prefix + l + "\n"));

    private void Append(string text)
    {
        lock (_lock)
        {
            if (_transcript.Length < MaxTranscript)
            {
                _transcript.Append(text);
            }
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>An SmtpClient whose DSN parameters and BDAT preference are set per test.</summary>
