using System.Text;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// A Maildir store on a temporary directory with a log that tests can read, reopened on demand (a restart). Its clock
/// is <see cref="Time"/>: tests move it to fire the external-change poll or to reach a new UIDVALIDITY second.
/// </summary>
public sealed class StoreFixture : IDisposable
{
    public const string User = "alice@example.test";
    private readonly TempDirectory _directory = new();

    public StoreFixture() => Store = Open();

    public MaildirMailboxStore Store { get; private set; }
    public FakeLogger Log { get; } = new();

    /// <summary>The store's clock (internal dates, UIDVALIDITY, the poll); it starts at the real time and moves only when told.</summary>
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>The store's <see cref="MaildirStoreOptions.ExternalChangePollInterval"/> (the default).</summary>
    public static TimeSpan PollInterval { get; } = new MaildirStoreOptions().ExternalChangePollInterval!.Value;
    public string Root => _directory.Path;
    public string Inbox => Path.Combine(Root, User);

    public MaildirMailboxStore Open() =>
        new(new MaildirStoreOptions { RootPath = _directory.Path, HostName = "test.host", LoggerFactory = new SingleLoggerFactory(Log), TimeProvider = Time });

    /// <summary>Disposes the store and opens a new one on the same directory, as a process restart would.</summary>
    public MaildirMailboxStore Restart()
    {
        Store.Dispose();
        return Store = Open();
    }

    public static MemoryStream Message(string subject, string body = "body\r\n") =>
        new(Encoding.UTF8.GetBytes($"From: bob@example.org\r\nTo: {User}\r\nSubject: {subject}\r\n\r\n{body}"));

    public async Task<AppendResult> AppendAsync(string subject, AppendOptions? options = null, string folder = "INBOX") =>
        await Store.AppendAsync(User, folder, Message(subject), options);

    public bool Logged(int eventId) => Log.Collector.GetSnapshot().Any(r => r.Id.Id == eventId);

    public void Dispose()
    {
        Store.Dispose();
        _directory.Dispose();
    }

    private sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
    }
}
