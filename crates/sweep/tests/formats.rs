//! End to end on generated files: the download scripts against a local server, then sweeps on
//! IDX and image-folder data (the latter with the CNN).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;
use common::{assert_success, sweep, sweep_with_env};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// IDX images (magic 0x803) and labels (0x801) of `n` 4×4 images: class c is bright in row c.
fn idx_pair(n: usize, n_classes: usize, offset: usize) -> (Vec<u8>, Vec<u8>) {
    let mut images = vec![0, 0, 8, 3];
    let mut labels = vec![0, 0, 8, 1];
    for header in [&mut images, &mut labels] {
        header.extend_from_slice(&(n as u32).to_be_bytes());
    }
    images.extend_from_slice(&4u32.to_be_bytes());
    images.extend_from_slice(&4u32.to_be_bytes());
    for i in 0..n {
        let class = (i + offset) % n_classes;
        for row in 0..4 {
            for col in 0..4 {
                let bright = row == class;
                images.push(if bright {
                    200 + (i % 50) as u8
                } else {
                    ((i * 7 + col) % 40) as u8
                });
            }
        }
        labels.push(class as u8);
    }
    (images, labels)
}

fn md5(path: &Path) -> String {
    let output = Command::new("md5sum")
        .arg(path)
        .output()
        .expect("md5sum runs");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `python3 -m http.server` on a free loopback port, stopped on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(folder: &Path) -> Server {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(folder)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts an HTTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected server banner: {line}"))
            .to_string();
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const IDX_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

#[test]
fn mnist_script_downloads_verifies_and_the_sweep_runs_on_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    fs::create_dir(&served).unwrap();
    let (train_images, train_labels) = idx_pair(120, 3, 0);
    let (test_images, test_labels) = idx_pair(30, 3, 1);
    for (name, bytes) in
        IDX_NAMES
            .iter()
            .zip([&train_images, &train_labels, &test_images, &test_labels])
    {
        fs::write(served.join(name), gzip(bytes)).unwrap();
    }
    let checksums = dir.path().join("mnist.md5");
    let list: String = IDX_NAMES
        .iter()
        .map(|name| format!("{}  {name}\n", md5(&served.join(name))))
        .collect();
    fs::write(&checksums, &list).unwrap();
    let server = Server::start(&served);
    let dest = dir.path().join("data/mnist");
    let download = |checksums: &Path| {
        Command::new("bash")
            .arg(repo_root().join("scripts/download-mnist.sh"))
            .env("MNIST_BASE_URL", &server.url)
            .env("MNIST_DEST", &dest)
            .env("MNIST_CHECKSUMS", checksums)
            .output()
            .unwrap()
    };
    let first = download(&checksums);
    assert_success(&first);
    for name in IDX_NAMES {
        assert_eq!(
            fs::read(dest.join(name)).unwrap(),
            fs::read(served.join(name)).unwrap()
        );
    }
    let again = download(&checksums);
    assert_success(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("present, checksum ok"));

    // A wrong checksum fails the download and keeps nothing.
    fs::remove_file(dest.join(IDX_NAMES[0])).unwrap();
    let wrong = dir.path().join("wrong.md5");
    fs::write(
        &wrong,
        list.replacen(&md5(&served.join(IDX_NAMES[0])), &"0".repeat(32), 1),
    )
    .unwrap();
    let failed = download(&wrong);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("expected 00000000"));
    assert!(!dest.join(IDX_NAMES[0]).exists());
    assert_eq!(
        fs::read_dir(&dest).unwrap().count(),
        3,
        "no partial file is left"
    );
    assert_success(&download(&checksums));

    // The downloaded folder feeds an experiment.
    let config = dir.path().join("mnist.toml");
    fs::write(
        &config,
        format!(
            r#"name = "idx-test"
seeds = 1
[data]
source = "idx"
path = "{}"
n_classes = 3
train_subset = 90
[noise]
model = "symmetric"
rates = [0.0, 0.3]
[targets]
epsilons = [0.0, 0.2]
[model]
kind = "mlp"
hidden = [8]
[training]
epochs = 3
batch_size = 16
optimizer = "sgd"
learning_rate = 0.05
"#,
            dest.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_success(&sweep(&[
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let noisy =
        fs::read_to_string(out.join("noisy-labels/symmetric-rate0.300000-seed0.csv")).unwrap();
    // 90 training samples (the subset) and 12 validation samples (10% of 120).
    assert_eq!(
        noisy.lines().filter(|l| l.starts_with("train,")).count(),
        90
    );
    assert_eq!(
        noisy
            .lines()
            .filter(|l| l.starts_with("validation,"))
            .count(),
        12
    );
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 4);
}

#[test]
fn a_cnn_sweep_runs_on_an_image_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pets");
    for (class, colour) in [("cat", [220u8, 40, 40]), ("dog", [40, 40, 220])] {
        fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..20u8 {
            let image = image::RgbImage::from_fn(12, 10, |x, y| {
                let shade = ((x * 7 + y * 3) as u8).wrapping_add(i * 5) % 60;
                image::Rgb(colour.map(|c| c.saturating_sub(shade)))
            });
            let extension = if i % 2 == 0 { "png" } else { "jpg" };
            image
                .save(root.join(class).join(format!("{i}.{extension}")))
                .unwrap();
        }
    }
    let config = dir.path().join("pets.toml");
    fs::write(
        &config,
        format!(
            r#"name = "pets"
seeds = 1
[data]
source = "image-folder"
path = "{}"
image_size = [8, 8]
test_fraction = 0.25
[noise]
model = "symmetric"
rates = [0.0, 0.2]
[targets]
epsilons = [0.0, 0.3]
[model]
kind = "cnn"
channels = [4, 8]
[training]
epochs = 4
batch_size = 8
optimizer = "adamw"
learning_rate = 0.01
"#,
            root.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = sweep(&[config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_success(&output);
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 4);
    assert!(
        runs.lines().skip(1).all(|l| l.contains(",finished,4,")),
        "{runs}"
    );
    let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"kind\": \"cnn\""));
}

#[test]
fn check_and_run_share_the_image_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shapes");
    for (class, base) in [("round", 30u8), ("square", 160)] {
        fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..12u8 {
            let image = image::RgbImage::from_fn(10, 10, |x, y| {
                let v = base.wrapping_add(i * 3).wrapping_add((x * 4 + y) as u8);
                image::Rgb([v, v / 2, 255 - v])
            });
            image
                .save(root.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let config = dir.path().join("shapes.toml");
    fs::write(
        &config,
        format!(
            r#"name = "shapes"
seeds = 1
[data]
source = "image-folder"
path = "{}"
image_size = [6, 6]
[noise]
model = "symmetric"
rates = [0.0]
[targets]
epsilons = [0.0]
[model]
kind = "logistic"
[training]
epochs = 1
batch_size = 8
optimizer = "sgd"
learning_rate = 0.1
"#,
            root.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let cache = dir.path().join("cache");
    let with_cache = [("LABELNOISE_CACHE_DIR", cache.as_os_str())];
    let checked = sweep_with_env(&["check", config], &with_cache);
    assert_success(&checked);
    let cache_files: Vec<PathBuf> = fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(cache_files.len(), 1, "{cache_files:?}");

    // Break an image without changing its size or modification time: only a load served by
    // the cache still succeeds, which shows that the sweep reads the file `check` wrote.
    let image = root.join("square/5.png");
    let metadata = fs::metadata(&image).unwrap();
    fs::write(&image, vec![0u8; metadata.len() as usize]).unwrap();
    fs::File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_modified(metadata.modified().unwrap())
        .unwrap();
    let out = dir.path().join("out");
    let run = sweep_with_env(&[config, "--out", out.to_str().unwrap()], &with_cache);
    assert_success(&run);
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 1);
    let again = sweep_with_env(&["check", config], &with_cache);
    assert_success(&again);
    assert_eq!(again.stdout, checked.stdout);

    // An empty LABELNOISE_CACHE_DIR turns the cache off, whatever HOME and XDG_CACHE_HOME say:
    // the broken image is decoded and reported.
    let home = dir.path().join("home");
    let xdg = dir.path().join("xdg");
    let off = sweep_with_env(
        &["check", config],
        &[
            ("LABELNOISE_CACHE_DIR", "".as_ref()),
            ("HOME", home.as_os_str()),
            ("XDG_CACHE_HOME", xdg.as_os_str()),
        ],
    );
    assert_eq!(off.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&off.stderr);
    assert!(
        stderr.contains(&format!("{}: cannot decode the image", image.display())),
        "{stderr}"
    );
    assert!(!home.exists() && !xdg.exists());

    // A cache folder that cannot be created costs only a note.
    fs::remove_file(&image).unwrap();
    let blocker = dir.path().join("a-file");
    fs::write(&blocker, "").unwrap();
    let unusable = sweep_with_env(
        &["check", config],
        &[("LABELNOISE_CACHE_DIR", blocker.as_os_str())],
    );
    assert_success(&unusable);
    let stderr = String::from_utf8_lossy(&unusable.stderr);
    assert_eq!(
        stderr
            .matches("note: the decoded images are not cached")
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "cannot create the cache folder {}",
            blocker.display()
        )),
        "{stderr}"
    );
}

#[test]
fn cifar10_script_verifies_the_archive_and_unpacks_the_batches() {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join("staging/cifar-10-batches-bin");
    fs::create_dir_all(&staging).unwrap();
    // Two records per batch: label byte, then 3,072 pixel bytes.
    let batch = |label: u8| -> Vec<u8> {
        let mut bytes = Vec::new();
        for l in [label, (label + 1) % 10] {
            bytes.push(l);
            bytes.extend(std::iter::repeat_n(l * 20, 3072));
        }
        bytes
    };
    let names = [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ];
    for (i, name) in names.iter().enumerate() {
        fs::write(staging.join(format!("{name}.bin")), batch(i as u8)).unwrap();
    }
    fs::write(staging.join("readme.html"), "not extracted").unwrap();
    let served = dir.path().join("served");
    fs::create_dir(&served).unwrap();
    let archive = served.join("cifar-10-binary.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path().join("staging"))
        .arg("cifar-10-batches-bin")
        .status()
        .unwrap();
    assert!(status.success());
    let checksums = dir.path().join("cifar10.md5");
    fs::write(
        &checksums,
        format!("{}  cifar-10-binary.tar.gz\n", md5(&archive)),
    )
    .unwrap();
    let server = Server::start(&served);
    let dest = dir.path().join("data/cifar10");
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/download-cifar10.sh"))
        .env("CIFAR10_BASE_URL", &server.url)
        .env("CIFAR10_DEST", &dest)
        .env("CIFAR10_CHECKSUMS", &checksums)
        .output()
        .unwrap();
    assert_success(&output);
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            fs::read(dest.join(format!("{name}.bin"))).unwrap(),
            batch(i as u8)
        );
    }
    assert!(!dest.join("readme.html").exists());
}
