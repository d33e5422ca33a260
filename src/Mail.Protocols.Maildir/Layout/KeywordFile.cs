using System.Globalization;
using System.Text;
using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// The folder's keyword numbering in the "dovecot-keywords" format ("0 $Forwarded" per line), shared with
/// Dovecot: keyword n is the letter 'a'+n in file names. Keywords past the 26 letters live only in the index.
/// </summary>
internal sealed class KeywordFile
{
    public const string FileName = "dovecot-keywords";
    private readonly string _path;
    private readonly UnixFileMode _permissions;
    private readonly string?[] _byLetter = new string?[26];
    private DateTime _loadedWriteTime;

    public KeywordFile(string folderDirectory, UnixFileMode permissions)
    {
        _path = Path.Combine(folderDirectory, FileName);
        _permissions = permissions;
        Reload();
    }

    /// <summary>Counts the changes to the letters (re-read, or a letter given to a keyword): a letter may name another keyword since.</summary>
    public int Version { get; private set; }

    /// <summary>Re-reads the file when another program changed it (or always, with <paramref name="force"/>).</summary>
    public void Reload(bool force = false)
    {
        var writeTime = File.Exists(_path) ? File.GetLastWriteTimeUtc(_path) : DateTime.MinValue;
        if (writeTime == _loadedWriteTime && !force)
        {
            return;
        }
        Array.Clear(_byLetter);
        Version++;
        if (writeTime != DateTime.MinValue)
        {
            foreach (var line in File.ReadAllLines(_path))
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 26 && space + 1 < line.Length)
                {
                    _byLetter[n] = line[(space + 1)..];
                }
            }
        }
        _loadedWriteTime = writeTime;
    }

    /// <summary>
    /// The keywords named by the letters of a file name; unknown letters are skipped, and so are letters whose keyword is
    /// no IMAP atom (<see cref="MessageKeywords.IsValid"/>: another program wrote "0 two words", say). Such a letter stays
    /// taken, so that it is never given to another keyword while files still carry it, and its line is written back as it was.
    /// </summary>
    public IEnumerable<string> KeywordsOf(string letters)
    {
        foreach (var letter in letters)
        {
            if (_byLetter[letter - 'a'] is { } keyword && MessageKeywords.IsValid(keyword))
            {
                yield return keyword;
            }
        }
    }

    /// <summary>The letters for keywords, numbering new ones (and saving the file) while letters are free.</summary>
    public string LettersOf(IReadOnlyCollection<string> keywords, bool sync)
    {
        if (keywords.Count == 0)
        {
            return ""; // most deliveries: no need to look at the file
        }
        Reload();
        if (keywords.All(HasLetter))
        {
            return Letters(keywords);
        }
        // A new keyword: number it against the file as it is now, under Dovecot's lock for it, so a number
        // Dovecot (or mutt) just gave another keyword is not handed out twice.
        using var dotlock = DotLock.Acquire(_path, _permissions);
        Reload(force: true);
        var letters = Letters(keywords, allocate: true, out var changed);
        if (changed)
        {
            var text = new StringBuilder();
            for (var i = 0; i < _byLetter.Length; i++)
            {
                if (_byLetter[i] is { } keyword)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{i} {keyword}\n");
                }
            }
            DurableIO.WriteAtomically(_path, Encoding.UTF8.GetBytes(text.ToString()), sync, _permissions);
            _loadedWriteTime = File.GetLastWriteTimeUtc(_path);
        }
        return letters;
    }

    private string Letters(IEnumerable<string> keywords) => Letters(keywords, allocate: false, out _);

    private string Letters(IEnumerable<string> keywords, bool allocate, out bool changed)
    {
        var letters = new StringBuilder();
        changed = false;
        foreach (var keyword in keywords)
        {
            var index = Array.FindIndex(_byLetter, k => string.Equals(k, keyword, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                index = allocate ? Array.IndexOf(_byLetter, null) : -1;
                if (index < 0)
                {
                    continue;
                }
                _byLetter[index] = keyword;
                Version++;
                changed = true;
            }
            letters.Append((char)('a' + index));
        }
        return letters.ToString();
    }

    /// <summary>Whether a keyword has a letter (and so is visible to other Maildir programs).</summary>
    public bool HasLetter(string keyword) => Array.Exists(_byLetter, k => string.Equals(k, keyword, StringComparison.OrdinalIgnoreCase));
}
