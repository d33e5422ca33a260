using System.Globalization;
using System.Text;
using Mail.Protocols.Addressing;

namespace Mail.Protocols.InMemory;

/// <summary>
/// Reads aliases and catch-alls in the format of Postfix's virtual alias table (virtual(5)), so an operator can reuse
/// one: <c>pattern target, target ...</c> per logical line, targets separated by commas or white space; a line whose
/// first non-blank character is <c>#</c> is a comment; blank lines are ignored; a line that starts with white space
/// continues the one before. A pattern is <c>local@domain</c> (an alias) or <c>@domain</c> (the domain's catch-all);
/// a pattern without <c>@</c> that names a domain (Postfix's "virtual alias domain" line) is skipped, since local
/// domains are configured elsewhere. Every target is a full address. The file is read within
/// <see cref="VirtualAliasFileLimits"/>; a line that breaks the format or a limit is a <see cref="FormatException"/>
/// whose message names the file and the line number.
/// </summary>
public static class VirtualAliasFile
{
    /// <summary>
    /// Reads the table at <paramref name="path"/> (UTF-8) into <paramref name="book"/> (a new address book when null),
    /// whose entries under the same addresses it replaces; returns the book. On an error, the entries before the bad
    /// line are in.
    /// </summary>
    /// <exception cref="FormatException">A bad line or a limit passed, with its line number.</exception>
    public static InMemoryAddressBook Load(string path, InMemoryAddressBook? book = null, VirtualAliasFileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        book ??= new InMemoryAddressBook();
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Read(reader, book, Path.GetFileName(path), limits);
    }

    /// <summary>Reads a table from <paramref name="reader"/> into <paramref name="book"/>; <paramref name="name"/> names it in error messages.</summary>
    /// <exception cref="FormatException">A bad line or a limit passed, with its line number.</exception>
    public static InMemoryAddressBook Read(TextReader reader, InMemoryAddressBook book, string name = "virtual", VirtualAliasFileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(name);
        limits ??= VirtualAliasFileLimits.Default;
        var seen = new HashSet<string>(Users.UserName.Comparer);
        var logical = new StringBuilder();
        var logicalStart = 0;
        var lineNumber = 0;
        var line = new StringBuilder();
        while (ReadLine(reader, line, limits.MaxLineLength, name, lineNumber + 1))
        {
            lineNumber++;
            var text = line.ToString();
            var trimmed = text.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }
            if (char.IsWhiteSpace(text[0]))
            {
                if (logical.Length == 0)
                {
                    throw Error(name, lineNumber, "a continuation line with no line before it to continue");
                }
                if (logical.Length + 1 + trimmed.Length > limits.MaxLineLength)
                {
                    throw Error(name, logicalStart, $"the entry is longer than {limits.MaxLineLength} characters");
                }
                logical.Append(' ').Append(trimmed);
                continue;
            }
            if (logical.Length > 0)
            {
                AddEntry(book, seen, logical.ToString(), name, logicalStart, limits);
            }
            logical.Clear().Append(text);
            logicalStart = lineNumber;
        }
        if (logical.Length > 0)
        {
            AddEntry(book, seen, logical.ToString(), name, logicalStart, limits);
        }
        return book;
    }

    private static void AddEntry(InMemoryAddressBook book, HashSet<string> seen, string entry, string name, int lineNumber, VirtualAliasFileLimits limits)
    {
        var fields = entry.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
        var pattern = fields[0];
        var at = pattern.LastIndexOf('@');
        if (at < 0)
        {
            if (pattern.Contains('.', StringComparison.Ordinal))
            {
                return; // "example.test anything": Postfix's declaration of a virtual alias domain
            }
            throw Error(name, lineNumber, $"'{pattern}' is no address: a pattern is local@domain or @domain");
        }
        if (at == pattern.Length - 1 || pattern.IndexOf('@') != at)
        {
            throw Error(name, lineNumber, $"'{pattern}' is no address: a pattern is local@domain or @domain");
        }
        if (fields.Length == 1)
        {
            throw Error(name, lineNumber, $"'{pattern}' has no target");
        }
        if (fields.Length - 1 > limits.MaxTargetsPerEntry)
        {
            throw Error(name, lineNumber, $"'{pattern}' has more than {limits.MaxTargetsPerEntry} targets");
        }
        if (!seen.Add(pattern))
        {
            throw Error(name, lineNumber, $"'{pattern}' is listed twice");
        }
        if (seen.Count > limits.MaxEntries)
        {
            throw Error(name, lineNumber, $"more than {limits.MaxEntries} entries");
        }
        try
        {
            if (at == 0)
            {
                book.SetCatchAll(pattern[1..], fields[1..]);
            }
            else
            {
                book.AddAlias(pattern, fields[1..]);
            }
        }
        catch (ArgumentException ex)
        {
            throw Error(name, lineNumber, ex.Message);
        }
    }

    // One physical line (without its CR LF or LF) into 'line'; false at the end of the input. Never holds more
    // than maxLength characters: a longer line is an error, whatever follows.
    private static bool ReadLine(TextReader reader, StringBuilder line, int maxLength, string name, int lineNumber)
    {
        line.Clear();
        int c;
        while ((c = reader.Read()) >= 0)
        {
            if (c == '\n')
            {
                if (line.Length > 0 && line[^1] == '\r')
                {
                    line.Length--;
                }
                if (line.Length > maxLength)
                {
                    throw Error(name, lineNumber, $"the line is longer than {maxLength} characters");
                }
                return true;
            }
            if (line.Length == maxLength + 1) // +1: room for the CR of CR LF
            {
                throw Error(name, lineNumber, $"the line is longer than {maxLength} characters");
            }
            line.Append((char)c);
        }
        if (line.Length > maxLength)
        {
            throw Error(name, lineNumber, $"the line is longer than {maxLength} characters");
        }
        return line.Length > 0;
    }

    private static FormatException Error(string name, int lineNumber, string message) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{name} line {lineNumber}: {message}"));
}

/// <summary>Bounds on what <see cref="VirtualAliasFile"/> reads, so a damaged or hostile table cannot exhaust memory.</summary>
public sealed record VirtualAliasFileLimits
{
    /// <summary>The defaults: lines of 16,384 characters (an entry with its continuation lines too), 100,000 entries, 1,000 targets per entry.</summary>
    public static VirtualAliasFileLimits Default { get; } = new();

    /// <summary>The longest line, and the longest entry with its continuation lines, in characters. Defaults to 16,384.</summary>
    public int MaxLineLength { get; init; } = 16_384;

    /// <summary>The most entries (aliases, catch-alls). Defaults to 100,000.</summary>
    public int MaxEntries { get; init; } = 100_000;

    /// <summary>The most targets of one entry. Defaults to 1,000.</summary>
    public int MaxTargetsPerEntry { get; init; } = 1_000;
}
