using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// The dovecot-keywords file (<see cref="KeywordFile"/>), which other programs write too. Properties: reading never throws;
/// every keyword a letter names is an IMAP atom (<see cref="MessageKeywords.IsValid"/>: the store's own rule for keywords,
/// which IMAP sends back as atoms); numbering a new keyword rewrites the file so that reading it again names the same
/// keywords by the same letters, the new one included when a letter was free.
/// </summary>
internal sealed class KeywordFileTarget : IFuzzTarget
{
    private const string NewKeyword = "$FuzzNew";
    private static readonly string[] s_letters = [.. Enumerable.Range(0, 26).Select(i => ((char)('a' + i)).ToString())];

    public string Name => "KeywordFile";

    public void Run(ReadOnlySpan<byte> input)
    {
        var directory = ScratchDirectory.Fresh(Name);
        File.WriteAllBytes(Path.Combine(directory, KeywordFile.FileName), input.ToArray());
        var file = new KeywordFile(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var before = Names(file);
        foreach (var keyword in before.Values)
        {
            Fuzz.Check(MessageKeywords.IsValid(keyword), $"the keyword \"{keyword}\" is no IMAP atom");
        }

        var free = before.Count < 26 && !before.Values.Contains(NewKeyword, StringComparer.OrdinalIgnoreCase);
        var letters = file.LettersOf([NewKeyword], sync: false);
        var after = Names(new KeywordFile(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite));
        foreach (var (letter, keyword) in before)
        {
            Fuzz.Check(after.TryGetValue(letter, out var kept) && kept == keyword, $"the letter {letter} named \"{keyword}\" before a keyword was added");
        }

        if (free)
        {
            Fuzz.Check(letters.Length == 1 && after.TryGetValue(letters[0], out var added) && added == NewKeyword, "the new keyword did not get a letter in the file");
        }
    }

    private static Dictionary<char, string> Names(KeywordFile file)
    {
        var names = new Dictionary<char, string>();
        foreach (var letter in s_letters)
        {
            var keywords = file.KeywordsOf(letter).ToList();
            Fuzz.Check(keywords.Count <= 1, $"the letter {letter} names {keywords.Count} keywords");
            if (keywords.Count == 1)
            {
                names[letter[0]] = keywords[0];
            }
        }

        return names;
    }
}
