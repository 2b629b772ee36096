import org.apache.maven.artifact.versioning.ComparableVersion;
import java.nio.file.*;
public class MavenOrder { public static void main(String[] a) throws Exception {
  StringBuilder sb = new StringBuilder();
  for (String l : Files.readAllLines(Path.of(a[0]))) { String[] p = l.split(" "); if (p.length<2) continue;
    int c = new ComparableVersion(p[0]).compareTo(new ComparableVersion(p[1])); sb.append(p[0]).append(' ').append(p[1]).append(' ').append(Integer.signum(c)).append('\n'); }
  Files.writeString(Path.of(a[1]), sb.toString()); } }
