using System.Reflection;
using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Search;

/// <summary>
/// A folder of messages built for the search tests, in an in-memory store behind a wrapper that counts the store calls
/// (so a test can say that a flag search never opened content).
/// </summary>
internal sealed class SearchFolder
{
    public const string User = "searcher";
    public const string Folder = "INBOX";

    private SearchFolder(IMailboxStore store, CallCounter counter, IReadOnlyList<MessageInfo> messages)
    {
        Store = store;
        Calls = counter;
        Messages = messages;
    }

    public IMailboxStore Store { get; }

    public CallCounter Calls { get; }

    public IReadOnlyList<MessageInfo> Messages { get; }

    public SearchScope Scope(NumberSet? saved = null) => new(Store, User, Folder, Messages, saved);

    /// <summary>Runs a tree and returns the sequence numbers found.</summary>
    public async Task<uint[]> Find(SearchKey key, NumberSet? saved = null) =>
        (await SearchEvaluator.EvaluateAsync(key, Scope(saved))).SequenceNumbers.ToArray();

    public static async Task<SearchFolder> CreateAsync(params TestMessage[] messages)
    {
        var inner = new InMemoryMailboxStore();
        foreach (var message in messages)
        {
            using var content = new MemoryStream(message.Content);
            await inner.AppendAsync(User, Folder, content, new AppendOptions(message.Flags, message.Keywords, message.InternalDate));
        }
        var counter = new CallCounter();
        var store = CountingStore.Wrap(inner, counter);
        return new SearchFolder(store, counter, await inner.ListMessagesAsync(User, Folder));
    }

    /// <summary>
    /// A folder given by its <see cref="MessageInfo"/>s alone (any UIDs and MODSEQs a test needs) over an empty store: for the
    /// searches that need nothing else, which is also what they must not ask the store for.
    /// </summary>
    public static SearchFolder FromInfos(params MessageInfo[] messages)
    {
        var counter = new CallCounter();
        return new SearchFolder(CountingStore.Wrap(new InMemoryMailboxStore(), counter), counter, messages);
    }

    /// <summary>A message's info with the given UID, flags and MODSEQ.</summary>
    public static MessageInfo Info(uint uid, MessageFlags flags = MessageFlags.None, ulong modSeq = 1) =>
        new(uid, flags, [], new DateTimeOffset(1994, 2, 1, 0, 0, 0, TimeSpan.Zero), 100, modSeq);

    /// <summary>The messages of most tests, in this order (sequence numbers 1 to 5).</summary>
    public static Task<SearchFolder> StandardAsync() => CreateAsync(
        // 1: plain ASCII, seen, delivered 8 Feb 1994 05:52 UTC, sent the 7th at 21:52 -0800.
        new TestMessage(
            "From: \"Alice Example\" <alice@example.org>\r\n" +
            "To: bob@example.net\r\n" +
            "Cc: Carol <carol@example.com>\r\n" +
            "Subject: Meeting tomorrow\r\n" +
            "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n" +
            "X-Mailer: Plain Writer 1.0\r\n" +
            "\r\n" +
            "Let's meet at noon in the library.\r\n",
            MessageFlags.Seen, [], new DateTimeOffset(1994, 2, 8, 5, 52, 0, TimeSpan.Zero)),
        // 2: encoded words in Subject and From, a quoted-printable UTF-8 body; flagged, answered, $Forwarded.
        new TestMessage(
            "From: =?UTF-8?B?Sm9zw6kgTcO8bGxlcg==?= <jose@example.org>\r\n" +
            "To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.net>\r\n" +
            "Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= for =?UTF-8?Q?everyone?=\r\n" +
            "Date: Tue, 8 Feb 1994 10:00:00 +0100\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "Gr=C3=BC=C3=9Fe aus M=C3=BCnchen, the soft=\r\n" +
            "break joins this word.\r\n",
            MessageFlags.Flagged | MessageFlags.Answered, ["$Forwarded"], new DateTimeOffset(1994, 2, 8, 9, 0, 0, TimeSpan.Zero)),
        // 3: multipart with a base64 text part, an HTML part and a base64 attachment whose words are not text.
        new TestMessage(
            "From: dave@example.org\r\n" +
            "To: bob@example.net\r\n" +
            "Subject: Photos\r\n" +
            "Date: Wed, 9 Feb 1994 12:00:00 +0000\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
            "\r\n" +
            "preamble mentions decoy\r\n" +
            "--b1\r\n" +
            "Content-Type: text/plain; charset=us-ascii\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            Convert.ToBase64String(Encoding.ASCII.GetBytes("The hidden treasure is under the oak.")) + "\r\n" +
            "--b1\r\n" +
            "Content-Type: text/html; charset=utf-8\r\n" +
            "\r\n" +
            "<p>Look at <b>these</b> pictures</p>\r\n" +
            "--b1\r\n" +
            "Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            Convert.ToBase64String(Encoding.ASCII.GetBytes("attachmentonly words")) + "\r\n" +
            "--b1--\r\n",
            MessageFlags.None, ["Work"], new DateTimeOffset(1994, 2, 9, 23, 30, 0, TimeSpan.FromHours(-5))),
        // 4: an ISO-8859-1 body in 8bit and a KOI8-R subject.
        new TestMessage(
            Bytes("From: erik@example.org\r\n" +
                  "To: bob@example.net\r\n" +
                  "Subject: =?KOI8-R?B?8NLJ18XU?=\r\n" +
                  "Date: Thu, 10 Feb 1994 08:00:00 +0000\r\n" +
                  "MIME-Version: 1.0\r\n" +
                  "Content-Type: text/plain; charset=ISO-8859-1\r\n" +
                  "Content-Transfer-Encoding: 8bit\r\n" +
                  "\r\n") .Concat(Encoding.Latin1.GetBytes("Un texte fran\u00e7ais, na\u00efve.\r\n")).ToArray(),
            MessageFlags.Seen | MessageFlags.Deleted, [], new DateTimeOffset(1994, 2, 10, 8, 0, 0, TimeSpan.Zero)),
        // 5: a draft without a Date header, with Bcc and a custom header, and a large body.
        new TestMessage(
            "From: frank@example.org\r\n" +
            "Bcc: secret@example.com\r\n" +
            "Subject: Draft of the plan\r\n" +
            "X-Priority: 1 (Highest)\r\n" +
            "\r\n" +
            new string('x', 5000) + "\r\nend of the draft\r\n",
            MessageFlags.Draft, ["$Label1", "Work"], new DateTimeOffset(1994, 2, 11, 0, 0, 0, TimeSpan.Zero)));

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    internal sealed record TestMessage(byte[] Content, MessageFlags Flags, string[] Keywords, DateTimeOffset InternalDate)
    {
        public TestMessage(string content, MessageFlags flags, string[] keywords, DateTimeOffset internalDate)
            : this(Bytes(content), flags, keywords, internalDate)
        {
        }
    }

    /// <summary>How often each store method was called.</summary>
    internal sealed class CallCounter
    {
        private readonly Dictionary<string, int> _counts = [];

        public int this[string method]
        {
            get
            {
                lock (_counts)
                {
                    return _counts.GetValueOrDefault(method);
                }
            }
        }

        public int Total
        {
            get
            {
                lock (_counts)
                {
                    return _counts.Values.Sum();
                }
            }
        }

        public void Add(string method)
        {
            lock (_counts)
            {
                _counts[method] = _counts.GetValueOrDefault(method) + 1;
            }
        }
    }

    /// <summary>An <see cref="IMailboxStore"/> that counts every call and passes it on.</summary>
    public class CountingStore : DispatchProxy
    {
        private IMailboxStore _inner = null!;
        private CallCounter _counter = null!;

        public static IMailboxStore Wrap(IMailboxStore inner, CallCounter counter)
        {
            var proxy = Create<IMailboxStore, CountingStore>();
            var self = (CountingStore)(object)proxy;
            self._inner = inner;
            self._counter = counter;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            _counter.Add(targetMethod.Name);
            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
