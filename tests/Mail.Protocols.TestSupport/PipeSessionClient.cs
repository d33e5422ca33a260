using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// The client end of a session run over in-memory pipes: the session starts on the thread pool as soon as the client
/// is made, replies are read as Latin-1 lines (one char per octet), and closing the client's side ends the session.
/// </summary>
public class PipeSessionClient : IAsyncDisposable
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _toClient = new();
    private readonly StreamReader _replies;

    /// <summary>Starts <paramref name="runSession"/> over a new connection whose deadlines are checked on <paramref name="time"/>'s clock.</summary>
    public PipeSessionClient(Func<MailConnection, Task> runSession, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(runSession);
        Connection = new MailConnection(new TestDuplexPipe(_toServer.Reader, _toClient.Writer), null, null, time, isSecure: false);
        _replies = new StreamReader(_toClient.Reader.AsStream(), Encoding.Latin1);
        Session = Task.Run(async () =>
        {
            try
            {
                await runSession(Connection);
            }
            finally
            {
                await Connection.DisposeAsync();
            }
        });
    }

    /// <summary>The session, complete when it ended.</summary>
    public Task Session { get; }

    /// <summary>The server side of the connection.</summary>
    public MailConnection Connection { get; }

    /// <summary>The raw replies, for a test that watches what the server has handed the pipe (not mixed with <see cref="ReadLineAsync"/>).</summary>
    public PipeReader Replies => _toClient.Reader;

    /// <summary>Sends <paramref name="text"/>, one octet per char.</summary>
    public async Task SendAsync(string text) => await _toServer.Writer.WriteAsync(Encoding.Latin1.GetBytes(text));

    /// <summary>Sends octets.</summary>
    public async Task SendAsync(byte[] octets) => await _toServer.Writer.WriteAsync(octets);

    /// <summary>The next reply line without its line end; null once the server closed.</summary>
    public async Task<string?> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _replies.ReadLineAsync(timeout.Token);
    }

    /// <summary>Reads exactly <paramref name="count"/> octets (a literal in a reply), as Latin-1 characters.</summary>
    public async Task<string> ReadOctetsAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new char[count];
        var read = await _replies.ReadBlockAsync(buffer.AsMemory(), timeout.Token);
        return new string(buffer, 0, read);
    }

    /// <summary>Closes the client's side: the session sees the end of its input.</summary>
    public async Task CloseAsync() => await _toServer.Writer.CompleteAsync();

    /// <summary>Whether the session ended within 30 seconds.</summary>
    public async Task<bool> EndedAsync() => await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(30))) == Session;

    /// <summary>Closes the client's side and gives the session 10 seconds to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _toServer.Writer.CompleteAsync();
        await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(10)));
        GC.SuppressFinalize(this);
    }
}
