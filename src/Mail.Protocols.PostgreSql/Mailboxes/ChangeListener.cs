using System.Threading.Channels;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Mailboxes;

/// <summary>
/// One connection of a store that LISTENs for the changes other instances make, handing each payload in arrival order to
/// the store (on a loop of its own, so that a slow read never holds up the connection). A lost connection is made again,
/// with a pause between tries; once it listens again the store is told to read what it missed meanwhile.
/// </summary>
internal sealed class ChangeListener(NpgsqlDataSource dataSource, Func<string, CancellationToken, Task> onNotification, Func<CancellationToken, Task> onListeningAgain)
    : IAsyncDisposable, IDisposable
{
    /// <summary>The channel every instance notifies on and listens to.</summary>
    public const string Channel = "mail_changes";

    // Not a payload any instance sends (those are never empty): "you may have missed notifications, read again".
    private const string ListeningAgain = "";

    // A connection can die without a word (a host or a network gone): it is asked for a sign of life this often.
    private static readonly TimeSpan s_keepAlive = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan s_retryPause = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<string> _received = System.Threading.Channels.Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private Task _running = Task.CompletedTask;
    private int _started;

    /// <summary>Whether the connection is listening now (for tests and health checks).</summary>
    public bool IsListening { get; private set; }

    /// <summary>Starts listening, once; later calls do nothing.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _running = Task.WhenAll(Task.Run(() => ListenAsync(_stop.Token)), Task.Run(() => HandOverAsync(_stop.Token)));
        }
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += (_, e) => _received.Writer.TryWrite(e.Payload);
                    using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                    {
                        await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                    IsListening = true;
                    // Listening now: a change made from here on is notified, one made before (while a session was already
                    // following a folder, before the first LISTEN or while the connection was down) is found by reading.
                    _received.Writer.TryWrite(ListeningAgain);
                    try
                    {
                        while (true)
                        {
                            if (!await connection.WaitAsync(s_keepAlive, cancellationToken).ConfigureAwait(false))
                            {
                                using var ping = new NpgsqlCommand("SELECT 1", connection);
                                await ping.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                            }
                        }
                    }
                    catch when (connection.State == System.Data.ConnectionState.Open)
                    {
                        // Still answering (a stop, a timeout): not back to the pool listening, where unread notifications
                        // would pile up and hold up the server's queue. A broken connection is not put back at all.
                        try
                        {
                            using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
                            await unlisten.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
                        {
                        }
                        throw;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break; // the data source is gone: so is the store
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException or OperationCanceledException)
            {
                IsListening = false;

                // The database is away (restarting, unreachable): try again shortly; the store catches up once back.
                try
                {
                    await Task.Delay(s_retryPause, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        IsListening = false;
    }

    private async Task HandOverAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var payload in _received.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await (payload == ListeningAgain ? onListeningAgain(cancellationToken) : onNotification(payload, cancellationToken)).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // A read that failed (the database away) is made at the folder's next notification or open; nothing to
                    // report to here, and the loop must go on for the other users.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
        await _running.ConfigureAwait(false);
        _stop.Dispose();
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
        }
        // Not waited for: the loops end on their own at the cancellation.
    }
}
