// Counters of what the soak's clients did, and the errors they met (each kind counted, its first texts kept).

using System.Collections.Concurrent;
using System.Globalization;

internal sealed class Stats
{
    private readonly ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ErrorKind> _errors = new(StringComparer.Ordinal);

    public void Add(string counter, long n = 1) => _counters.AddOrUpdate(counter, n, (_, v) => v + n);

    public long Get(string counter) => _counters.GetValueOrDefault(counter);

    /// <summary>An error of a client: <paramref name="kind"/> names where (e.g. "pop3 session"), <paramref name="text"/> what.</summary>
    public void Error(string kind, string text)
    {
        var e = _errors.GetOrAdd(kind, _ => new ErrorKind());
        Interlocked.Increment(ref e.Count);
        if (e.First.Count < 5)
        {
            e.First.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss} {text}"));
        }
    }

    public long ErrorCount => _errors.Values.Sum(e => Interlocked.Read(ref e.Count));

    public IEnumerable<(string Kind, long Count, IReadOnlyCollection<string> First)> Errors =>
        _errors.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, Interlocked.Read(ref e.Value.Count), (IReadOnlyCollection<string>)e.Value.First));

    private sealed class ErrorKind
    {
        public long Count;
        public ConcurrentQueue<string> First { get; } = new();
    }
}
